"""The crisis lines given to a person in crisis, one rule for every place that gives them:
the crisis panel, the JSON API's triage answers and the reply templates' `{crisis_numbers}`.

The resource directory's active crisis lines for the person's language come first (admins
keep the one list); the script's lines for that language are only the fallback; the
emergency number always, last (the directory's entry, else the script's, else bare).

The directory belongs to the cases domain, below which triage sits: it registers its
provider with `register_directory(provider)`; `provider(language, shown)` returns the
`CrisisLine`s of the directory offered in `language`, described in `shown`. Until one is
registered, the script's lines are given.
"""

from dataclasses import dataclass

EMERGENCY_NUMBER = "112"

_DIRECTORY_PROVIDERS = []


@dataclass(frozen=True)
class CrisisLine:
    """A crisis line as it is given: `hours` as the directory holds it ("24/7",
    "Mon-Fri 08:30-17:00", "" for the script's), `language` the one it is offered in."""

    name: str
    phone: str
    hours: str = ""
    description: str = ""
    language: str = ""

    @property
    def emergency(self):
        return self.phone.replace(" ", "") == EMERGENCY_NUMBER

    def to_dict(self):
        """The JSON shape of an API answer's `crisis_resources` entry."""
        return {"name": self.name, "phone": self.phone, "language": self.language,
                "description": self.description, "hours": self.hours}


def register_directory(provider):
    """Add `provider(language, shown) -> list[CrisisLine]`; usable as a decorator."""
    if provider not in _DIRECTORY_PROVIDERS:
        _DIRECTORY_PROVIDERS.append(provider)
    return provider


def crisis_lines(script, language, shown=None):
    """The crisis lines for a person speaking `language`, described in `shown` (default:
    `language`): the directory's, else the script's; the emergency number last."""
    shown = shown or language
    listed = [line for provider in _DIRECTORY_PROVIDERS
              for line in provider(language, shown) or () if line.phone]
    fallback = [CrisisLine(**resource.to_dict(shown)) for resource in
                script.resources_for(language)]
    own = [line for line in listed if not line.emergency] or \
        [line for line in fallback if not line.emergency]
    emergency = [line for line in listed if line.emergency] or \
        [line for line in fallback if line.emergency] or \
        [CrisisLine(EMERGENCY_NUMBER, EMERGENCY_NUMBER, language=language)]
    return own + emergency


def answer(evaluation, script):
    """`evaluation.to_dict()` for an API answer, its `crisis_resources` (when the engine
    shows some) the lines `crisis_lines` gives in the person's language."""
    body = evaluation.to_dict()
    if evaluation.crisis_resources:
        body["crisis_resources"] = [line.to_dict() for line in
                                    crisis_lines(script, evaluation.language)]
    return body
