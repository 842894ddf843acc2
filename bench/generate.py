"""Fill a benchmark database with fake national-scale data (PostgreSQL COPY, or SQLite).

    python -m bench generate --preset national --database-url postgresql://…/cellule_bench

The schema is the real one: the database is emptied and migrated with the project's
own migrations (`upgrade("heads")`), then filled table by table while every index,
constraint, foreign key and trigger the migrations created stays in place. People
are generated in blocks (in arrival order, so ids grow with time as in production);
each block is one transaction that COPYs persons, contacts, cases, triage runs,
case contacts, events, notes, referrals, tasks and audit rows. Several worker
processes each stream their blocks through their own connection (several COPY
streams at once); ids are reserved from shared counters so blocks never collide.

Values the application derives are derived by the application's own functions:
`contacts.normalise` (phone, email, affiliate number, name key, search text),
`contacts.operations.scan_red_flags` (red flags of a summary), `triage.engine`
(evaluation of each level's answers, deadlines on the business calendar).
"""

import functools
import hashlib
import json
import logging
import multiprocessing
import random
import time
import unicodedata
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text

from . import accounts, fakedata
from .presets import LEVEL_ANSWERS, PRESETS

log = logging.getLogger("bench.generate")

LEVEL_WEIGHTS = (("at_risk", 34), ("elevated", 30), ("serious", 14), ("high", 8),
                 ("imminent", 2), ("low", 12))
CHANNEL_WEIGHTS = (("phone", 58), ("email", 14), ("internal_referral", 8), ("web", 12),
                   ("walk_in", 8))
LANGUAGE_WEIGHTS = (("nl", 56), ("fr", 40), ("de", 1), ("en", 3))
OUTCOME_WEIGHTS = (("resolved", 55), ("referred_external", 20), ("declined", 8),
                   ("no_contact", 10), ("other", 7))
ANONYMOUS_CONTACT_SHARE = 0.03
ANONYMOUS_CASE_SHARE = 0.03  # of anonymous contacts
MERGED_SHARE = 0.003
RESERVED = ("persons", "contacts", "cases", "triage_runs", "tasks", "case_notes", "referrals")
# Tables in the order a block writes them (foreign keys point backwards).
TABLE_ORDER = ("persons", "person_name_words", "contacts", "cases", "triage_runs",
               "case_contacts", "case_notes", "referrals", "tasks", "surveys", "case_events",
               "audit_events")
TASK_TITLES = {
    "callback": "Rappeler la personne / Persoon terugbellen",
    "check_in": "Prendre des nouvelles / Opvolgen",
}


def _weighted(pairs):
    values = [v for v, _ in pairs]
    cum, total = [], 0
    for _, w in pairs:
        total += w
        cum.append(total)
    return values, cum


def _ascii(value):
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()


def _geometric(rng, p_continue):
    n = 0
    while rng.random() < p_continue:
        n += 1
    return n


# --------------------------------------------------------------------------- id counters


class LocalCounters:
    """Id ranges for a single process (SQLite)."""

    def __init__(self, names):
        self.values = dict.fromkeys(names, 0)

    def reserve(self, name, n):
        base = self.values.setdefault(name, 0)
        self.values[name] = base + n
        return base + 1

    def snapshot(self):
        return dict(self.values)


class SharedCounters:
    """Id ranges shared by the worker processes (one lock, one 64-bit value per name)."""

    def __init__(self, names):
        self.lock = multiprocessing.Lock()
        self.values = {name: multiprocessing.Value("q", 0, lock=False) for name in names}

    def reserve(self, name, n):
        with self.lock:
            value = self.values[name]
            base = value.value
            value.value = base + n
        return base + 1

    def snapshot(self):
        return {name: v.value for name, v in self.values.items()}


# --------------------------------------------------------------------------- the context


def build_context(app, preset, seed, user_ids, resources, now):
    """Everything a worker needs, as plain picklable values."""
    from triage.calendar import get_calendar
    from triage.engine import evaluate
    from triage.loader import get_script

    script = get_script("cellule-triage")
    templates = {}
    for level, answers in LEVEL_ANSWERS.items():
        evaluation = evaluate(script, answers, language="fr", at=now, calendar=get_calendar(app))
        templates[level] = {
            "evaluation": evaluation.to_dict(),
            "answers": dict(evaluation.answers),
            "route": evaluation.route,
            "safety": bool(evaluation.any_safety_yes),
        }
    start = now - timedelta(days=preset.span_days)
    years = list(range(start.year, now.year + 1))
    return {
        "preset": preset.name,
        "seed": seed,
        "now": now,
        "start": start,
        "years": years,
        "users": user_ids,
        "resources": resources,
        "templates": templates,
        "script_id": script.id,
        "script_version": script.version,
        "opening_hours": app.config["CELLULE_OPENING_HOURS"],
        "timezone": app.config["CELLULE_TIMEZONE"],
    }


def counter_names(context):
    return [*RESERVED, *(f"ref{y}" for y in context["years"])]


# --------------------------------------------------------------------------- one block


class BlockGenerator:
    """Generate the rows of one block of people (and all that hangs off them)."""

    def __init__(self, context, preset, calendar):
        from contacts import normalise
        from contacts.operations import scan_red_flags
        from triage.engine import deadline_for

        self.ctx = context
        self.preset = preset
        self.calendar = calendar
        # The folding of names is the generator's hottest path; it is a pure function,
        # so it is memoised here (in the generator's processes only): same values, and
        # names repeat a lot.
        if not hasattr(normalise.fold, "cache_info"):
            normalise.fold = functools.lru_cache(maxsize=200_000)(normalise.fold)
        self.normalise_email = functools.lru_cache(maxsize=200_000)(normalise.normalise_email)
        self.normalise = normalise
        self.scan_red_flags = scan_red_flags
        self.deadline_for = deadline_for
        self.flags_cache = {}
        self.users = context["users"]
        self.on_duty = self.users["supervisor"][: max(1, len(self.users["supervisor"]) // 2)]
        self.now = context["now"]
        self.start = context["start"]
        self.span = (self.now - self.start).total_seconds()
        p = preset
        active_persons = p.persons * (1 - MERGED_SHARE)
        cases_per_person = p.cases / active_persons
        self.p_case = min(0.9, cases_per_person * 0.9)
        extra = cases_per_person / self.p_case - 1
        self.p_more_cases = extra / (1 + extra)
        per_person_contacts = p.contacts * (1 - ANONYMOUS_CONTACT_SHARE) / active_persons
        base = 1 + self.p_case * (1 / (1 - self.p_more_cases) - 1)
        extra = max(0.05, per_person_contacts - base)
        self.p_more_contacts = extra / (1 + extra)
        self.anonymous_per_person = p.contacts * ANONYMOUS_CONTACT_SHARE / active_persons
        # Cases opened in the last `open_window` are still open (90 % of them).
        self.open_window = timedelta(days=p.span_days * p.open_fraction / 0.9)
        self.levels = _weighted(LEVEL_WEIGHTS)
        self.channels = _weighted(CHANNEL_WEIGHTS)
        self.languages = _weighted(LANGUAGE_WEIGHTS)
        self.outcomes = _weighted(OUTCOME_WEIGHTS)
        resources = context["resources"]
        self.coaching = [r for r in resources if r["kind"] == "coaching_partner"]
        self.info = [r for r in resources if r["kind"] in ("rights_info", "self_help", "workshop")]

    # ---------------------------------------------------------------- helpers

    def pick(self, rng, weighted):
        values, cum = weighted
        return rng.choices(values, cum_weights=cum)[0]

    def flags(self, summary, subject, body, language):
        key = (summary, subject, body, language)
        found = self.flags_cache.get(key)
        if found is None:
            found = self.scan_red_flags(summary, subject, body, language=language)
            self.flags_cache[key] = found
        return found

    def worker(self, rng):
        r = rng.random()
        if r < 0.72:
            return rng.choice(self.users["advisor"])
        if r < 0.85:
            return rng.choice(self.users["psychologist"])
        return rng.choice(self.users["ambassador"])

    def raw_phone(self, rng):
        r = rng.random()
        if r < 0.005:
            return rng.choice(fakedata.UNPARSEABLE_PHONES)
        if r < 0.7:
            prefix = rng.choice(fakedata.MOBILE)
            a, b, c = rng.randrange(100), rng.randrange(100), rng.randrange(100)
            style = rng.randrange(5)
            if style == 0:
                return f"{prefix} {a:02d} {b:02d} {c:02d}"
            if style == 1:
                return f"+32 {prefix[1:]} {a:02d} {b:02d} {c:02d}"
            if style == 2:
                return f"{prefix}/{a:02d}.{b:02d}.{c:02d}"
            if style == 3:
                return f"0032{prefix[1:]}{a:02d}{b:02d}{c:02d}"
            return f"{prefix}{a:02d}{b:02d}{c:02d}"
        area = rng.choice(fakedata.AREA)
        digits = 9 - len(area)
        number = f"{rng.randrange(2 * 10 ** (digits - 1), 10 ** digits):0{digits}d}"
        if rng.random() < 0.5:
            return f"{area} {number[:3]} {number[3:5]} {number[5:]}"
        return f"{area}/{number}"

    def raw_affiliate(self, rng, global_index):
        # A bijection of the person's index on 8 digits: unique by construction.
        digits = f"{(global_index * 48271 + 12345679) % 10 ** 8:08d}"
        style = rng.randrange(4)
        if style == 0:
            return f"BE-{digits}"
        if style == 1:
            return f"be {digits[:4]} {digits[4:]}"
        if style == 2:
            return f"BE.{digits[:4]}.{digits[4:]}"
        return f"BE{digits}"

    # ---------------------------------------------------------------- the block

    def build(self, block_no, first_index, count, counters):
        """Return {table: list of row dicts} for persons [first_index, first_index+count)."""
        rng = random.Random(f"{self.ctx['seed']}:{block_no}")
        P = self.preset.persons
        persons, person_plans = [], []
        contact_plans = []  # (occurred_at, person_local or None, plan dict)
        for j in range(count):
            g = first_index + j
            arrival = self.start + timedelta(seconds=self.span * (g + rng.random()) / P)
            merged_into = None
            if j > 0 and rng.random() < MERGED_SHARE:
                merged_into = rng.randrange(j)
                while person_plans[merged_into]["merged_into"] is not None:
                    merged_into = person_plans[merged_into]["merged_into"]
            plan = {"local": j, "g": g, "arrival": arrival, "merged_into": merged_into,
                    "contacts": [], "cases": []}
            person_plans.append(plan)
            if merged_into is not None:
                continue
            n_cases = 0
            if rng.random() < self.p_case:
                n_cases = 1 + _geometric(rng, self.p_more_cases)
            n_contacts = max(1, n_cases) + _geometric(rng, self.p_more_contacts)
            remaining = (self.now - arrival).total_seconds()
            times = [arrival]
            for _ in range(n_contacts - 1):
                delay = min(rng.expovariate(1 / (40 * 86400)), remaining * rng.random())
                times.append(arrival + timedelta(seconds=delay))
            times.sort()
            plan["contact_times"] = times
            plan["n_cases"] = n_cases
        # Anonymous contacts, spread over the block's period.
        n_anon = int(count * self.anonymous_per_person + rng.random())
        first_arrival = person_plans[0]["arrival"]
        last_arrival = person_plans[-1]["arrival"]
        anon_times = sorted(first_arrival + (last_arrival - first_arrival) * rng.random()
                            for _ in range(n_anon))

        # ---- persons ----
        normalise = self.normalise
        for plan in person_plans:
            language = self.pick(rng, self.languages)
            firsts = {"fr": fakedata.FIRST_FR, "nl": fakedata.FIRST_NL,
                      "de": fakedata.FIRST_DE}.get(language, fakedata.FIRST_FR + fakedata.FIRST_NL)
            lasts = {"fr": fakedata.LAST_FR, "nl": fakedata.LAST_NL,
                     "de": fakedata.LAST_DE}.get(language, fakedata.LAST_FR + fakedata.LAST_NL)
            first, last = rng.choice(firsts), rng.choice(lasts)
            if plan["merged_into"] is not None:
                survivor = persons[plan["merged_into"]]
                name = survivor["name"]
                language = survivor["language"]
            else:
                name = f"{first} {last}"
            raw_phone = self.raw_phone(rng) if rng.random() < 0.8 else None
            raw_email = None
            if rng.random() < 0.65:
                local = _ascii(f"{first}.{last}").replace(" ", "").replace("'", "")
                if rng.random() < 0.5:
                    local += str(rng.randrange(1, 99))
                raw_email = f"{local}@{rng.choice(fakedata.MAIL_DOMAINS)}"
            raw_affiliate = None
            if plan["merged_into"] is None and rng.random() < 0.8:
                raw_affiliate = self.raw_affiliate(rng, plan["g"])
            phone = normalise.normalise_phone(raw_phone)
            email = self.normalise_email(raw_email)
            affiliate = normalise.normalise_affiliate_number(raw_affiliate)
            name = " ".join(name.split())
            plan["language"] = language
            plan["raw_phone"], plan["raw_email"] = raw_phone, raw_email
            persons.append({
                "name": name,
                "affiliate_number": affiliate,
                "phone": phone.value if phone else None,
                "phone_valid": bool(phone and phone.valid),
                "email": email,
                "language": language,
                "starter": rng.random() < 0.12,
                "sector": rng.choice(_SECTORS) if rng.random() < 0.9 else None,
                "name_key": normalise.name_key(name),
                "search_text": normalise.search_text(name, phone.value if phone else None,
                                                     email, affiliate),
                "created_at": plan["arrival"],
                "updated_at": plan["arrival"],
                "created_by_id": None,
                "merged_into_id": None,
                "merged_at": None,
                "merged_by_id": None,
            })

        # ---- contacts (planned, then sorted by time so ids follow time) ----
        for plan in person_plans:
            for k, at in enumerate(plan.get("contact_times", ())):
                contact_plans.append((at, plan["local"], k))
        for at in anon_times:
            contact_plans.append((at, None, 0))
        contact_plans.sort(key=lambda c: c[0])
        person_base = counters.reserve("persons", count)
        contact_base = counters.reserve("contacts", len(contact_plans))
        contacts = []
        contact_index = {}  # (person local, k) -> contact local index
        anonymous_contacts = []
        for i, (at, local, k) in enumerate(contact_plans):
            plan = person_plans[local] if local is not None else None
            language = plan["language"] if plan else self.pick(rng, self.languages)
            follow_up = k > 0
            channel = "phone" if follow_up and rng.random() < 0.6 else self.pick(rng, self.channels)
            direction = "out" if follow_up and channel == "phone" and rng.random() < 0.5 else "in"
            creator = None if channel == "email" else self.worker(rng)
            summaries = (fakedata.RED_FLAG_SUMMARIES if rng.random() < fakedata.RED_FLAG_SHARE
                         else fakedata.SUMMARIES)[language]
            summary = "" if channel == "email" else rng.choice(summaries)
            subject = body = None
            row = {
                "person_id": person_base + local if plan else None,
                "channel": channel,
                "direction": direction,
                "occurred_at": at,
                "duration_minutes": rng.randrange(5, 61) if channel in ("phone", "walk_in")
                else None,
                "reasons": rng.sample(_REASONS, rng.randrange(1, 4)),
                "summary": summary,
                "handled_by_id": None,
                "handled_at": None,
                "created_by_id": creator,
                "created_at": at + timedelta(minutes=rng.randrange(1, 40)),
                "call_id": f"pbx-{contact_base + i}" if channel == "phone"
                and rng.random() < 0.4 else None,
                "referral_reach": None,
                "consent_to_contact": None,
                "email_sender": None,
                "email_subject": None,
                "email_body": None,
                "email_message_id": None,
                "mailbox": None,
                "mailbox_uidvalidity": None,
                "mailbox_uid": None,
            }
            if channel == "email":
                subject = rng.choice(fakedata.EMAIL_SUBJECTS)
                body = rng.choice(summaries)
                row.update(
                    email_sender=(plan and plan["raw_email"]) or "inconnu@example.be",
                    email_subject=subject, email_body=body,
                    email_message_id=f"<bench-{contact_base + i}@mail.example>",
                    mailbox="INBOX", mailbox_uidvalidity=1, mailbox_uid=contact_base + i,
                )
            elif channel == "internal_referral":
                reach = (plan and (plan["raw_phone"] or plan["raw_email"])) or None
                row.update(referral_reach=reach, consent_to_contact=rng.random() < 0.9)
            flags = self.flags(summary, subject, body, language)
            row["red_flagged"] = bool(flags)
            row["red_flags"] = flags
            if channel in ("email", "internal_referral"):
                recent = (self.now - at) < timedelta(days=3)
                if not (recent and rng.random() < 0.6):
                    row["handled_by_id"] = creator or rng.choice(self.users["advisor"])
                    row["handled_at"] = at + timedelta(hours=rng.randrange(1, 30))
            elif creator is not None:
                row["handled_by_id"] = creator
                row["handled_at"] = row["created_at"]
            if plan is not None:
                contact_index[(local, k)] = i
                if k == 0:
                    creator_id = creator or rng.choice(self.users["advisor"])
                    persons[local]["created_by_id"] = creator_id
            else:
                anonymous_contacts.append(i)
            contacts.append(row)
        for plan, person in zip(person_plans, persons, strict=True):
            if plan["merged_into"] is not None:
                survivor = persons[plan["merged_into"]]
                person["created_by_id"] = survivor["created_by_id"]
                person["merged_into_id"] = person_base + plan["merged_into"]
                person["merged_at"] = plan["arrival"] + timedelta(days=rng.randrange(1, 30))
                person["merged_by_id"] = rng.choice(self.users["advisor"])
                person["updated_at"] = person["merged_at"]
            elif person["created_by_id"] is None:
                person["created_by_id"] = rng.choice(self.users["advisor"])

        # ---- cases: plan them per person, then number them ----
        case_specs = []
        for plan in person_plans:
            n_cases = plan.get("n_cases", 0)
            if not n_cases:
                continue
            times = plan["contact_times"]
            anchors = sorted({(k * len(times)) // n_cases for k in range(n_cases)})
            for c, anchor in enumerate(anchors):
                next_anchor = anchors[c + 1] if c + 1 < len(anchors) else len(times)
                case_specs.append({
                    "person_local": plan["local"],
                    "contact": contact_index[(plan["local"], anchor)],
                    "follow_ups": [contact_index[(plan["local"], k)]
                                   for k in range(anchor + 1, next_anchor)],
                    "last": c == len(anchors) - 1,
                    "next_open": times[next_anchor] if next_anchor < len(times) else None,
                })
        for i in anonymous_contacts:
            if rng.random() < ANONYMOUS_CASE_SHARE:
                case_specs.append({"person_local": None, "contact": i, "follow_ups": [],
                                   "last": True, "next_open": None})
        for spec in case_specs:
            contact = contacts[spec["contact"]]
            spec["opened_at"] = contact["occurred_at"] + timedelta(
                minutes=(contact["duration_minutes"] or 10))
        case_specs.sort(key=lambda s: s["opened_at"])
        case_base = counters.reserve("cases", len(case_specs))
        per_year = {}
        for spec in case_specs:
            year = spec["opened_at"].year
            per_year[year] = per_year.get(year, 0) + 1
        ref_next = {year: counters.reserve(f"ref{year}", n) for year, n in per_year.items()}

        tables = {name: [] for name in TABLE_ORDER}
        tables["persons"] = persons
        tables["contacts"] = contacts
        runs, case_rows = tables["triage_runs"], tables["cases"]
        events, tasks = tables["case_events"], tables["tasks"]
        notes, referrals = tables["case_notes"], tables["referrals"]
        links, audit = tables["case_contacts"], tables["audit_events"]
        surveys = tables["surveys"]
        pending_tasks = []  # (task row, case row) to number after reservation
        pending_notes, pending_refs = [], []

        def event(case_row, kind, at, actor, **detail):
            events.append({"case_id": case_row["id"], "kind": kind, "at": at,
                           "actor_id": actor, "case_version": None,
                           "detail": {k: v for k, v in detail.items() if v is not None}})

        def add_task(case_row, opener, assignee, kind, title, assignee_id, due, at, done,
                     code=None, run=None):
            row = {"title": title, "kind": kind, "code": code, "case_id": case_row["id"],
                   "triage_run_id": run, "assignee_id": assignee_id, "due_at": due,
                   "status": "open", "created_by_id": opener, "created_at": at,
                   "done_by_id": None, "done_at": None}
            if done is not None:
                row["status"] = "done" if rng.random() < 0.93 else "cancelled"
                row["done_by_id"] = assignee_id or assignee or opener
                row["done_at"] = done
            tasks.append(row)
            pending_tasks.append((row, case_row))
            return row

        for n, spec in enumerate(case_specs):
            case_id = case_base + n
            contact = contacts[spec["contact"]]
            person_local = spec["person_local"]
            language = persons[person_local]["language"] if person_local is not None else "fr"
            opened_at = spec["opened_at"]
            level = self.pick(rng, self.levels)
            template = self.ctx["templates"][level]
            proposed_route = template["route"]
            route = proposed_route
            decision = "confirm"
            if level == "at_risk" and rng.random() < 0.03:
                route, decision = "psychologist", "raise"
            queue = _QUEUE_FOR_ROUTE[route]
            due_at = self.deadline_for(level, opened_at, self.calendar)
            opener = contact["created_by_id"] or rng.choice(self.users["advisor"])
            is_open = spec["last"] and (self.now - opened_at) < self.open_window \
                and rng.random() < 0.9
            pool = self.users["psychologist"] if queue == "psychology" else self.users["advisor"]
            status, assignee, first_response, closed_at = "open", None, None, None
            if is_open:
                r = rng.random()
                if r < 0.35:
                    status = "open"
                else:
                    status = "in_progress" if r < 0.8 else "waiting"
                    assignee = rng.choice(pool)
                    if rng.random() < 0.85:
                        first_response = opened_at + timedelta(
                            seconds=min(rng.expovariate(1 / 86400),
                                        (self.now - opened_at).total_seconds() * 0.9))
            else:
                status = "closed"
                assignee = rng.choice(pool)
                limit = self.now - timedelta(minutes=rng.randrange(5, 600))
                if spec["next_open"] is not None:
                    limit = min(limit, spec["next_open"] - timedelta(hours=1))
                closed_at = opened_at + timedelta(days=1 + rng.expovariate(1 / 21))
                closed_at = max(min(closed_at, limit), opened_at + timedelta(minutes=30))
                first_response = opened_at + (closed_at - opened_at) * rng.random() * 0.3
            year = opened_at.year
            reference = f"CEL-{year}-{ref_next[year]:06d}"
            ref_next[year] += 1
            case_row = {
                "id": case_id, "reference": reference,
                "person_id": person_base + person_local if person_local is not None else None,
                "status": status, "level": level, "route": route, "queue": queue,
                "assignee_id": assignee, "due_at": due_at,
                "first_response_at": first_response,
                "outcome": self.pick(rng, self.outcomes) if closed_at else None,
                "closed_at": closed_at, "closed_by_id": assignee if closed_at else None,
                "opened_at": opened_at, "opened_by_id": opener,
                "updated_at": closed_at or first_response or opened_at, "version": 1,
            }
            case_rows.append(case_row)
            run_id_local = len(runs)
            evaluation = dict(template["evaluation"])
            evaluation["due_at"] = due_at.isoformat() if due_at else None
            runs.append({
                "script_id": self.ctx["script_id"], "script_version": self.ctx["script_version"],
                "language": language, "state": "decided", "complete": True,
                "answers": template["answers"], "immediate_danger": False,
                "notes": contact["summary"] or None, "evaluation": evaluation,
                "proposed_level": level, "proposed_route": proposed_route,
                "proposed_due_at": due_at, "final_level": level, "final_route": route,
                "final_due_at": due_at, "decision": decision, "override_reason":
                "Plus prudent / voorzichtiger" if decision == "raise" else None,
                "requested_level": None, "requested_route": None, "signoff_state": None,
                "signoff_by_id": None, "signoff_at": None, "signoff_note": None,
                "crisis_shown": template["safety"], "resources_given": template["safety"],
                "created_by_id": opener, "created_at": opened_at - timedelta(minutes=5),
                "decided_by_id": opener, "decided_at": opened_at,
                "contact_id": contact_base + spec["contact"],
                "person_id": case_row["person_id"], "case_id": case_id,
            })
            event(case_row, "opened", opened_at, opener, level=level, route=route,
                  due_at=due_at.isoformat() if due_at else None)
            event(case_row, "routed", opened_at, opener, queue=queue, route=route)
            event(case_row, "triage_attached", opened_at, opener, triage_run_id=("run",
                  run_id_local), proposed_level=level, final_level=level)
            linked = [spec["contact"]]
            end = closed_at or self.now
            for i in spec["follow_ups"]:
                if contacts[i]["occurred_at"] < end and rng.random() < 0.6:
                    linked.append(i)
            for i in linked:
                linked_contact = contacts[i]
                links.append({"case_id": case_id, "contact_id": contact_base + i,
                              "linked_at": max(linked_contact["created_at"], opened_at),
                              "linked_by_id": linked_contact["created_by_id"] or opener})
                event(case_row, "contact_linked", max(linked_contact["created_at"], opened_at),
                      linked_contact["created_by_id"] or opener,
                      contact_id=contact_base + i, channel=linked_contact["channel"],
                      direction=linked_contact["direction"])
            if assignee is not None:
                event(case_row, "claimed", opened_at + (end - opened_at) * 0.05, assignee)
            if first_response is not None:
                event(case_row, "first_response", first_response, assignee or opener, how="call")

            worker_id = assignee or opener
            who = (case_row, opener, assignee)
            add_task(*who, "callback", TASK_TITLES["callback"], worker_id, due_at, opened_at,
                     first_response or closed_at)
            if rng.random() < 0.5:
                due = opened_at + timedelta(days=14)
                done = None
                if closed_at is not None:
                    done = min(due, closed_at)
                elif due < self.now and rng.random() < 0.7:
                    done = due
                add_task(*who, "check_in", TASK_TITLES["check_in"], worker_id, due, opened_at,
                         done)
            person_email = persons[person_local]["email"] if person_local is not None else None
            if closed_at is not None and person_email and case_row["outcome"] != "no_contact":
                # cases.survey: on closing, a survey task and a survey; the job mails it.
                sent = closed_at + timedelta(minutes=3)
                if sent < self.now:
                    task_row = add_task(*who, "survey", _SURVEY_TITLE, None, None, closed_at,
                                        sent)
                    task_row.update(created_by_id=None, done_by_id=None, status="done")
                    answered = sent + timedelta(days=14 * rng.random())
                    answered = answered if answered < self.now and rng.random() < 0.35 else None
                    surveys.append({
                        "case_id": case_id, "task": task_row, "language": language,
                        "status": "answered" if answered else "sent",
                        "token_digest": hashlib.sha256(f"bench-survey:{case_id}".encode())
                        .hexdigest(),
                        "created_at": closed_at, "sent_at": sent,
                        "expires_at": sent + timedelta(days=14), "answered_at": answered,
                        "score": rng.choice((3, 4, 4, 5, 5, 5, 2, 1)) if answered else None,
                        "comment": None, "mail_id": None,
                    })
            if level == "imminent":
                done = opened_at + timedelta(hours=1)
                for supervisor in self.on_duty:
                    add_task(*who, "custom", _IMMINENT_TITLE, supervisor, opened_at, opened_at,
                             done if done < self.now else None, code="imminent_alert")
                event(case_row, "supervisors_alerted", opened_at, opener,
                      user_ids=list(self.on_duty))
            if rng.random() < 0.03:
                due = opened_at + timedelta(days=1)
                done = closed_at or (due if due < self.now and rng.random() < 0.5 else None)
                add_task(*who, "complete_triage", _COMPLETE_TITLE, opener, due, opened_at, done,
                         code="complete_triage", run=("run", run_id_local))
            if is_open and rng.random() < 0.01:
                # A downgrade waiting for a psychologist's or supervisor's sign-off.
                runs[run_id_local].update(
                    decision="downgrade", requested_level="at_risk", requested_route="coaching",
                    signoff_state="pending", override_reason="Situation plus calme au rappel")
                add_task(*who, "sign_off", _SIGNOFF_TITLE, None,
                         self.calendar.end_of_business_day(opened_at, 1), opened_at, None,
                         code="sign_off", run=("run", run_id_local))

            # Notes.
            for _ in range(_geometric(rng, 0.42)):
                clinical = queue == "psychology" and rng.random() < 0.5
                author = rng.choice(self.users["psychologist"]) if clinical else worker_id
                at = opened_at + (end - opened_at) * rng.random()
                note = {"case_id": case_id, "visibility": "clinical" if clinical else "team",
                        "body": rng.choice(fakedata.NOTES), "author_id": author,
                        "created_at": at}
                notes.append(note)
                pending_notes.append((note, case_row, at, author))

            # Referrals.
            resource = None
            if route == "coaching" and self.coaching and rng.random() < 0.7:
                resource = rng.choice(self.coaching)
            elif route == "information" and self.info and rng.random() < 0.5:
                resource = rng.choice(self.info)
            if resource is not None:
                paid = bool(resource["price_cents"])
                ref = {"case_id": case_id, "triage_run_id": ("run", run_id_local),
                       "person_id": case_row["person_id"], "resource_id": resource["id"],
                       "price_cents_shown": resource["price_cents"],
                       "consent_at": opened_at if paid else None,
                       "consent_by_id": opener if paid else None, "note": None,
                       "created_by_id": opener, "created_at": opened_at}
                referrals.append(ref)
                pending_refs.append((ref, case_row, resource))
            if closed_at is not None:
                event(case_row, "closed", closed_at, assignee, outcome=case_row["outcome"])

        # Persons with no case: some had a low-level triage without a case.
        for plan in person_plans:
            if plan["merged_into"] is None and not plan.get("n_cases") and rng.random() < 0.15:
                contact_i = contact_index[(plan["local"], 0)]
                contact = contacts[contact_i]
                template = self.ctx["templates"]["low"]
                at = contact["occurred_at"] + timedelta(minutes=10)
                creator = contact["created_by_id"] or rng.choice(self.users["advisor"])
                runs.append({
                    "script_id": self.ctx["script_id"],
                    "script_version": self.ctx["script_version"],
                    "language": plan["language"], "state": "decided", "complete": True,
                    "answers": template["answers"], "immediate_danger": False, "notes": None,
                    "evaluation": template["evaluation"], "proposed_level": "low",
                    "proposed_route": "information", "proposed_due_at": None,
                    "final_level": "low", "final_route": "information", "final_due_at": None,
                    "decision": "confirm", "override_reason": None, "requested_level": None,
                    "requested_route": None, "signoff_state": None, "signoff_by_id": None,
                    "signoff_at": None, "signoff_note": None, "crisis_shown": False,
                    "resources_given": False, "created_by_id": creator, "created_at": at,
                    "decided_by_id": creator, "decided_at": at,
                    "contact_id": contact_base + contact_i,
                    "person_id": person_base + plan["local"], "case_id": None,
                })

        # ---- number what the timeline and tasks refer to ----
        run_base = counters.reserve("triage_runs", len(runs))
        for i, run in enumerate(runs):
            run["id"] = run_base + i
        task_base = counters.reserve("tasks", len(tasks))
        note_base = counters.reserve("case_notes", len(notes))
        ref_base = counters.reserve("referrals", len(referrals))
        for i, row in enumerate(persons):
            row["id"] = person_base + i
        # The person search's word index, as `contacts.name_words` keeps it.
        from contacts.name_words import rows_for

        tables["person_name_words"] = [
            word for row in persons for word in rows_for(row["id"], row["name_key"])]
        for i, row in enumerate(contacts):
            row["id"] = contact_base + i

        def resolve(value):
            if isinstance(value, tuple) and value and value[0] == "run":
                return run_base + value[1]
            return value

        for ev in events:
            if "triage_run_id" in ev["detail"]:
                ev["detail"]["triage_run_id"] = resolve(ev["detail"]["triage_run_id"])
        for i, (row, case_row) in enumerate(pending_tasks):
            row["id"] = task_base + i
            row["triage_run_id"] = resolve(row["triage_run_id"])
            event(case_row, "task_added", row["created_at"], row["created_by_id"],
                  task_id=row["id"], task_kind=row["kind"], assignee_id=row["assignee_id"])
            if row["done_at"] is not None:
                event(case_row, "task_done" if row["status"] == "done" else "task_cancelled",
                      row["done_at"], row["done_by_id"], task_id=row["id"],
                      task_kind=row["kind"])
        for survey in surveys:
            survey["task_id"] = survey.pop("task")["id"]
        for i, (note, case_row, at, author) in enumerate(pending_notes):
            note["id"] = note_base + i
            event(case_row, "note_added", at, author, note_id=note["id"],
                  visibility=note["visibility"])
        for i, (ref, case_row, resource) in enumerate(pending_refs):
            ref["id"] = ref_base + i
            ref["triage_run_id"] = resolve(ref["triage_run_id"])
            event(case_row, "referral_added", ref["created_at"], ref["created_by_id"],
                  referral_id=ref["id"], resource=resource["name"],
                  resource_kind=resource["kind"], price_cents=resource["price_cents"],
                  consent=bool(ref["consent_at"]))

        # Timeline in time order (ids follow time); each event carries the case version
        # right after it, and the case ends at the last one.
        events.sort(key=lambda e: e["at"])
        versions = {row["id"]: row for row in case_rows}
        for ev in events:
            case_row = versions[ev["case_id"]]
            if ev["kind"] != "opened":
                case_row["version"] += 1
            ev["case_version"] = case_row["version"]

        # ---- audit rows: what the operations would have written ----
        def audit_row(at, user, action, object_type, object_id, detail=None):
            audit.append({"at": at, "user_id": user, "action": action,
                          "object_type": object_type, "object_id": str(object_id), "ip": None,
                          "detail": json.dumps(detail, sort_keys=True, default=str)
                          if detail else None})

        for row in persons:
            audit_row(row["created_at"], row["created_by_id"], "create", "person", row["id"])
        for row in contacts:
            audit_row(row["created_at"], row["created_by_id"], "create", "contact", row["id"],
                      {"channel": row["channel"], "person_id": row["person_id"],
                       "red_flagged": row["red_flagged"]})
        for row in case_rows:
            audit_row(row["opened_at"], row["opened_by_id"], "create", "case", row["id"],
                      {"level": row["level"], "route": row["route"]})
            if row["closed_at"] is not None:
                audit_row(row["closed_at"], row["closed_by_id"], "update", "case", row["id"],
                          {"status": "closed", "outcome": row["outcome"]})
        for row in tasks:
            audit_row(row["created_at"], row["created_by_id"], "create", "task", row["id"],
                      {"kind": row["kind"], "case_id": row["case_id"]})
        audit.sort(key=lambda a: a["at"])
        return tables


_SECTORS = None
_REASONS = None
_QUEUE_FOR_ROUTE = None
_IMMINENT_TITLE = _SIGNOFF_TITLE = _COMPLETE_TITLE = _SURVEY_TITLE = None


def _load_vocabulary():
    """Import the domain vocabularies once (after the app's modules are importable)."""
    global _SECTORS, _REASONS, _QUEUE_FOR_ROUTE, _IMMINENT_TITLE, _SIGNOFF_TITLE, _COMPLETE_TITLE
    global _SURVEY_TITLE
    from cases.models import QUEUE_FOR_ROUTE
    from cases.routing import STORED_TITLES
    from contacts.models import REASONS, SECTORS

    _SECTORS, _REASONS, _QUEUE_FOR_ROUTE = SECTORS, REASONS, QUEUE_FOR_ROUTE
    _IMMINENT_TITLE = STORED_TITLES["imminent_alert"]
    _SIGNOFF_TITLE = STORED_TITLES["sign_off"]
    _COMPLETE_TITLE = STORED_TITLES["complete_triage"]
    _SURVEY_TITLE = STORED_TITLES.get("survey", "Satisfaction survey")


# --------------------------------------------------------------------------- writing


class TableShape:
    """The columns a table is written with: ours, plus the model's defaults for the rest.

    Built from the migrated database (what columns exist) and the SQLAlchemy model
    (Python-side defaults), so that a column another engineer adds with a default does
    not break the generator.
    """

    def __init__(self, table, db_columns, sample):
        self.name = table.name
        given = [c for c in sample if c in db_columns]
        missing = [c for c in sample if c not in db_columns]
        if missing:
            raise RuntimeError(f"{table.name}: columns {missing} are not in the database")
        self.columns = list(given)
        self.constants = {}
        for column in table.columns:
            if column.name in given or column.name not in db_columns:
                continue
            if column.primary_key or column.server_default is not None:
                continue
            default = column.default
            if default is not None and default.is_scalar:
                self.constants[column.name] = default.arg
            elif default is not None and default.is_callable:
                self.constants[column.name] = default.arg(None)
            elif not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name}: no value and no default")
        self.columns += list(self.constants)
        self.json_columns = {c.name for c in table.columns
                             if c.name in self.columns and c.type.__class__.__name__ == "JSON"}

    def tuples(self, rows):
        constants = tuple(self.constants.values())
        names = self.columns[: len(self.columns) - len(constants)]
        json_positions = [i for i, n in enumerate(names) if n in self.json_columns]
        dumps = json.dumps
        for row in rows:
            values = [row[n] for n in names]
            for i in json_positions:
                values[i] = dumps(values[i], ensure_ascii=False)
            yield (*values, *constants)

    def dicts(self, rows):
        for row in rows:
            values = {n: row[n] for n in self.columns if n in row}
            values.update(self.constants)
            yield values


def table_shapes(engine, metadata, sample_tables):
    inspector = inspect(engine)
    shapes = {}
    for name, rows in sample_tables.items():
        if not rows:
            continue
        db_columns = {c["name"] for c in inspector.get_columns(name)}
        shapes[name] = TableShape(metadata.tables[name], db_columns, rows[0])
    return shapes


# --------------------------------------------------------------------------- PostgreSQL


_worker = {}


def _pg_worker_init(url, context, preset_name, counters, shapes):
    import psycopg

    from triage.business_time import BusinessCalendar

    _load_vocabulary()
    calendar = BusinessCalendar(context["opening_hours"], context["timezone"])
    conn = psycopg.connect(url)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET gin_pending_list_limit = '64MB'")
    conn.commit()
    _worker.update(conn=conn, gen=BlockGenerator(context, PRESETS[preset_name], calendar),
                   counters=counters, shapes=shapes)


def _pg_block(args):
    block_no, first, count = args
    started = time.perf_counter()
    tables = _worker["gen"].build(block_no, first, count, _worker["counters"])
    built = time.perf_counter()
    counts = _pg_copy(_worker["conn"], _worker["shapes"], tables)
    return block_no, counts, built - started, time.perf_counter() - built


def _pg_copy(conn, shapes, tables):
    counts = {}
    with conn.transaction(), conn.cursor() as cur:
        for name in TABLE_ORDER:
            rows = tables.get(name)
            if not rows:
                continue
            shape = shapes[name]
            columns = ", ".join(shape.columns)
            with cur.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                for values in shape.tuples(rows):
                    copy.write_row(values)
            counts[name] = len(rows)
    return counts


# --------------------------------------------------------------------------- main entry


def _plain_url(url):
    return url.replace("postgresql+psycopg://", "postgresql://")


def reset_and_migrate(app):
    """Empty the benchmark database and run the project's migrations (all heads)."""
    from flask_migrate import upgrade

    from cellule.extensions import db

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as conn:
                for (name,) in conn.execute(text(
                        "SELECT name FROM sqlite_master WHERE type='table' "
                        "AND name NOT LIKE 'sqlite_%'")).all():
                    conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
        upgrade(revision="heads")
        db.engine.dispose()


def create_users(app, preset, now):
    """Create the bench users (every role), their API tokens and the resource directory."""
    from cases.demo import RESOURCES
    from cases.models import Resource
    from cellule.extensions import db
    from cellule.mfa import REQUIRED_ROLES
    from cellule.models import ApiToken, User
    from cellule.passwords import hash_password

    with app.app_context():
        password_hash = hash_password(accounts.PASSWORD)
        user_ids = {}
        for role, n in preset.users.items():
            ids = []
            for i in range(1, n + 1):
                email = accounts.email(role, i)
                user = User(email=email, name=f"{role.title()} {i}", role=role,
                            password_hash=password_hash, language="fr",
                            created_at=now - timedelta(days=preset.span_days + 30),
                            on_duty=True)
                if role in REQUIRED_ROLES:
                    user.totp_secret = accounts.totp_secret(email)
                    user.totp_enabled_at = user.created_at
                db.session.add(user)
                db.session.flush()
                token = accounts.api_token(email)
                db.session.add(ApiToken(user_id=user.id, digest=ApiToken.digest_of(token),
                                        prefix=token[:12], label="bench"))
                ids.append(user.id)
            user_ids[role] = ids
        # Half the supervisors are on duty (imminent alerts go to them).
        for user_id in user_ids["supervisor"][len(user_ids["supervisor"]) // 2 or 1:]:
            db.session.get(User, user_id).on_duty = False
        resources = []
        for values in RESOURCES:
            row = Resource(**values)
            db.session.add(row)
            db.session.flush()
            resources.append({"id": row.id, "kind": row.kind, "name": row.name,
                              "price_cents": row.price_cents})
        db.session.commit()
        return user_ids, resources


def generate(app, preset_name, seed=1, workers=3, now=None):
    """Reset, migrate and fill the app's database with the preset. Return a summary."""
    from cellule.extensions import db
    from triage.calendar import get_calendar

    preset = PRESETS[preset_name]
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    t0 = time.perf_counter()
    reset_and_migrate(app)
    _load_vocabulary()
    user_ids, resources = create_users(app, preset, now)
    with app.app_context():
        context = build_context(app, preset, seed, user_ids, resources, now)
        calendar = get_calendar(app)
        engine = db.engine
        dialect = engine.dialect.name
        url = engine.url.render_as_string(hide_password=False)
        metadata = db.metadata
        blocks = [(b, first, min(preset.block, preset.persons - first))
                  for b, first in enumerate(range(0, preset.persons, preset.block))]
        # A small dry block gives the shape (columns) of every table.
        sample = BlockGenerator(context, preset, calendar).build(
            -1, 0, min(preset.block, 400), LocalCounters(counter_names(context)))
        shapes = table_shapes(engine, metadata, sample)
        engine.dispose()
    log.info("generating preset %s: %d blocks, %d workers", preset.name, len(blocks), workers)
    totals = {}
    t1 = time.perf_counter()
    if dialect == "postgresql":
        counters = SharedCounters(counter_names(context))
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers, _pg_worker_init,
                      (_plain_url(url), context, preset.name, counters, shapes)) as pool:
            for block_no, counts, build_s, copy_s in pool.imap_unordered(_pg_block, blocks):
                for name, n in counts.items():
                    totals[name] = totals.get(name, 0) + n
                log.info("block %d/%d: %d rows (build %.1fs, copy %.1fs)", block_no + 1,
                         len(blocks), sum(counts.values()), build_s, copy_s)
        reserved = counters.snapshot()
    else:
        counters = LocalCounters(counter_names(context))
        generator = BlockGenerator(context, preset, calendar)
        with app.app_context():
            for block_no, first, count in blocks:
                tables = generator.build(block_no, first, count, counters)
                with db.engine.begin() as conn:
                    for name in TABLE_ORDER:
                        rows = tables.get(name)
                        if rows:
                            conn.execute(metadata.tables[name].insert(),
                                         list(shapes[name].dicts(rows)))
                            totals[name] = totals.get(name, 0) + len(rows)
        reserved = counters.snapshot()
    t2 = time.perf_counter()
    finish(app, context, reserved, preset, seed)
    t3 = time.perf_counter()
    summary = {"preset": preset.name, "seed": seed, "now": now.isoformat(), "rows": totals,
               "users": {r: len(v) for r, v in user_ids.items()},
               "seconds": {"migrate_users": round(t1 - t0, 1), "load": round(t2 - t1, 1),
                           "finish": round(t3 - t2, 1), "total": round(t3 - t0, 1)}}
    log.info("done: %s", json.dumps(summary))
    return summary


def finish(app, context, reserved, preset, seed):
    """Move sequences past the reserved ids, store the reference counters, ANALYZE."""
    from cellule.extensions import db

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            for year in context["years"]:
                last = reserved.get(f"ref{year}", 0)
                if last:
                    conn.execute(text("INSERT INTO case_counters (year, last) VALUES (:y, :l)"),
                                 {"y": year, "l": last})
            if engine.dialect.name == "postgresql":
                for table in RESERVED:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))
                info = json.dumps({"bench_preset": preset.name, "seed": seed,
                                   "now": context["now"].isoformat()})
                dbname = engine.url.database
                conn.execute(text(f"COMMENT ON DATABASE {dbname} IS '{info}'"))
        if engine.dialect.name == "postgresql":
            # As in production after autovacuum: statistics, visibility map, hint bits.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        else:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        engine.dispose()
