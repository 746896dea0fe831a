"""catalog.localtime: instants as staff read and type them, in the service's zone."""

from datetime import UTC, datetime

import pytest

from catalog.localtime import LocalTimeError, format_local, format_local_range, local_to_utc, zone_abbreviation

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("moment", "tz_name", "shown"),
    [
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), BERLIN, "Mon 7 Dec 2026, 10:00 CET"),
        (datetime(2026, 7, 6, 9, 0, tzinfo=UTC), BERLIN, "Mon 6 Jul 2026, 11:00 CEST"),
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "America/New_York", "Mon 7 Dec 2026, 04:00 EST"),
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "UTC", "Mon 7 Dec 2026, 09:00 UTC"),
        # A zone with numbers only for an abbreviation says they are an offset.
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "Europe/Istanbul", "Mon 7 Dec 2026, 12:00 UTC+03"),
    ],
)
def test_format_local_shows_the_zones_clock_and_abbreviation(moment, tz_name, shown):
    assert format_local(moment, tz_name) == shown


def test_format_local_without_the_date_and_for_nothing():
    assert format_local(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), BERLIN, date_part=False) == "10:00 CET"
    assert format_local(None, BERLIN) == "-"


def test_a_range_names_the_end_date_only_on_another_local_day():
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert format_local_range(start, datetime(2026, 12, 7, 10, 0, tzinfo=UTC), BERLIN) == (
        "Mon 7 Dec 2026, 10:00 CET - 11:00 CET"
    )
    assert format_local_range(start, datetime(2026, 12, 7, 23, 30, tzinfo=UTC), BERLIN) == (
        "Mon 7 Dec 2026, 10:00 CET - Tue 8 Dec 2026, 00:30 CET"
    )


def test_abbreviation_follows_daylight_saving():
    assert zone_abbreviation(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), BERLIN) == "CET"
    assert zone_abbreviation(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), BERLIN) == "CEST"


@pytest.mark.parametrize(
    ("wall", "instant"),
    [
        (datetime(2026, 12, 7, 10, 30), datetime(2026, 12, 7, 9, 30, tzinfo=UTC)),  # winter: UTC+1
        (datetime(2026, 7, 6, 10, 30), datetime(2026, 7, 6, 8, 30, tzinfo=UTC)),  # summer: UTC+2
        (datetime(2026, 3, 29, 3, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # just after the gap
        (datetime(2026, 10, 25, 3, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),  # just after the repeat
    ],
)
def test_local_to_utc(wall, instant):
    assert local_to_utc(wall, BERLIN) == instant


def test_a_skipped_time_is_refused_naming_the_gap():
    with pytest.raises(LocalTimeError) as refused:
        local_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert str(refused.value).startswith("02:30 on Sun 29 Mar 2026 does not exist in Europe/Berlin")
    assert "clocks go forward" in str(refused.value)


def test_a_repeated_time_is_refused_naming_both_instants():
    with pytest.raises(LocalTimeError) as refused:
        local_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN)
    message = str(refused.value)
    assert message.startswith("02:30 on Sun 25 Oct 2026 is ambiguous in Europe/Berlin")
    assert "00:30 and 01:30 UTC" in message
