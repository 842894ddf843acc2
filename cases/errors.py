"""The refusals of a change of a case that lost to another one.

Raised by the low modules (`operations` checks the version read, `access`'s loaders find a
case closed or taken since) and turned into answers by `conflicts`, which also loads the
case as it is now (through `access`): their own module, so that each of those imports it
without importing the others.
"""


class StaleCase(Exception):
    """The case changed since the form (or API call) read it."""

    def __init__(self, case_id, expected):
        super().__init__(f"case {case_id} changed since version {expected}")
        self.case_id = case_id
        self.expected = expected


class CaseConflict(Exception):
    """A change of a case refused: another change came first, or the case is closed."""

    def __init__(self, case_id, expected=None, action=None):
        super().__init__(f"case {case_id}: conflict ({action or 'change'}, read version "
                         f"{expected})")
        self.case_id = case_id
        self.expected = expected
        self.action = action
