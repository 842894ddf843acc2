"""The dashboard's export form: the displayed period, posted as hidden fields."""

from wtforms import HiddenField

from ..forms import ActionForm
from .periods import parse_period


class ExportForm(ActionForm):
    """The period of a CSV export; `periods.parse_period` decides what is a period, as for the
    dashboard's query string, so the form only carries its four values."""

    preset = HiddenField()
    start = HiddenField(name="from")
    end = HiddenField(name="to")
    granularity = HiddenField()

    def period(self):
        """The Period posted (raises periods.BadPeriod, naming the fields by their names)."""
        return parse_period({"preset": self.preset.data, "from": self.start.data,
                             "to": self.end.data, "granularity": self.granularity.data})
