"""The command line of the retention policy: `flask --app wsgi retention purge [--dry-run]`."""

import click
from flask.cli import AppGroup

from cellule.extensions import db
from cellule.types import utcnow

from .retention import apply, cutoff_for, plan, retention_years

retention_cli = AppGroup("retention", help="The retention policy.")


def _ids(label, ids, width=20):
    shown = ", ".join(str(i) for i in ids[:width])
    more = f" … (+{len(ids) - width})" if len(ids) > width else ""
    return f"  {label}: {len(ids)}" + (f" — ids {shown}{more}" if ids else "")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be anonymised; change nothing.")
@click.option("--years", type=click.IntRange(min=1),
              help="Retention period (default: CELLULE_RETENTION_YEARS).")
def purge_command(dry_run, years):
    """Anonymise closed cases and people past the retention period."""
    years = years or retention_years()
    if not years:
        raise click.ClickException(
            "no retention period: set CELLULE_RETENTION_YEARS or pass --years"
        )
    cutoff = cutoff_for(years, utcnow())
    the_plan = plan(cutoff)
    click.echo(f"Retention period: {years} year(s); cut-off {cutoff.isoformat()}.")
    click.echo("Would anonymise:" if dry_run else "Anonymising:")
    click.echo(_ids("cases closed before the cut-off", the_plan.cases))
    click.echo(_ids("people with nothing after the cut-off", the_plan.persons))
    click.echo(_ids("anonymous contacts before the cut-off", the_plan.contacts))
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
        return
    done = apply(the_plan)
    click.echo(f"Done: {done['persons']} person(s), {done['cases']} case(s), "
               f"{done['contacts']} contact(s) anonymised.")
