"""Time units shared by every layer."""

from __future__ import annotations

__all__ = ["DAYS_PER_YEAR", "DAYS_PER_MONTH"]

#: days in a year (Julian year: the unit of R's ``365.25``-day horizons in the references)
DAYS_PER_YEAR = 365.25
#: days in a month, a twelfth of :data:`DAYS_PER_YEAR`
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
