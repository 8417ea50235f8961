"""bench/forecast_savings.py rewrites only its own data set's section of the one document."""

from __future__ import annotations

from tests.scripts import load_bench

savings = load_bench("forecast_savings")

DOCUMENT = """# Title

<!-- bench/forecast_savings.py --data embedded: begin -->
## old embedded
<!-- bench/forecast_savings.py --data embedded: end -->

<!-- bench/forecast_savings.py --data dacf: begin -->
## dacf stays
<!-- bench/forecast_savings.py --data dacf: end -->
"""


def test_only_the_named_section_changes_and_headings_are_demoted() -> None:
    result = savings.replace_section(DOCUMENT, "embedded", "# New\n\n## Part\ntext\n")
    assert "## New\n\n### Part\ntext\n<!-- bench/forecast_savings.py --data embedded: end" in (
        result
    )
    assert "old embedded" not in result
    assert result.endswith(
        "<!-- bench/forecast_savings.py --data dacf: begin -->\n## dacf stays\n"
        "<!-- bench/forecast_savings.py --data dacf: end -->\n"
    )
    assert result.startswith("# Title\n\n<!-- bench/forecast_savings.py --data embedded: begin")


def test_a_missing_section_is_appended() -> None:
    result = savings.replace_section("# Title\n", "dacf", "# Report\n")
    assert result == (
        "# Title\n\n<!-- bench/forecast_savings.py --data dacf: begin -->\n## Report\n"
        "<!-- bench/forecast_savings.py --data dacf: end -->\n"
    )
