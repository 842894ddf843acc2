"""SQL budgets of the administrators' follow-up delays page (issue 19): the same few
statements however many levels were set."""

# the session's user; the stored delays (one query for every level)
PAGE = 2
# the session's user; the stored delays (the form's values and the rows to change, one
# query); the changed rows' INSERT or UPDATE; their audit rows (one INSERT each on SQLite,
# one for all on PostgreSQL)
SAVE = {"sqlite": 5, "postgresql": 4}


def _budget(budget):
    from cellule.extensions import db

    return budget[db.engine.dialect.name] if isinstance(budget, dict) else budget


def test_the_page_fits_its_budget(app, login_as, client, count_queries):
    from cases.followup import operations as followup

    admin = login_as("admin")
    counts = []
    for levels in ((), ("low", "at_risk", "elevated", "serious", "high", "imminent")):
        for level in levels:
            followup.set_delays(level, [12, 48], admin)
        from cellule.extensions import db

        db.session.commit()
        client.get("/admin/follow-up-delays")  # warm-up: first-request caches
        with count_queries() as queries:
            response = client.get("/admin/follow-up-delays")
        assert response.status_code == 200
        counts.append(queries.count)
        assert queries.count <= PAGE, queries.report()
    assert counts[0] == counts[1], counts


def test_saving_fits_its_budget(app, login_as, client, count_queries):
    login_as("admin")
    client.get("/admin/follow-up-delays")
    token = client.csrf_token()
    with count_queries() as queries:
        response = client.post("/admin/follow-up-delays",
                               data={"csrf_token": token, "high": "4, 48", "imminent": "2, 24"})
    assert response.status_code == 302
    assert queries.count <= _budget(SAVE), queries.report()
