"""Long terraform applies report progress: resources done out of planned, from terraform's own
machine-readable output, with errors kept in terraform's words (tools.tfrun.ApplyProgress)."""

from __future__ import annotations

from pathlib import Path

from tools import tfrun

# terraform_data is built into terraform: a real apply, with no provider to install.
FOUR_RESOURCES = """
resource "terraform_data" "item" {
  count = 3
  input = count.index
}

resource "terraform_data" "last" {
  input = terraform_data.item[0].id
}
"""

REFUSED = """
resource "terraform_data" "refused" {
  input = 1
  lifecycle {
    postcondition {
      condition     = self.input == 2
      error_message = "this resource is refused on purpose"
    }
  }
}
"""


def apply(root: Path, text: str, progress: tfrun.ApplyProgress) -> int:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.tf").write_text(text)
    assert tfrun.init(root).returncode == 0
    return tfrun.terraform(
        ["apply", "-auto-approve", "-input=false", "-json"], root, on_line=progress
    ).returncode


def test_an_apply_reports_resources_done_out_of_planned(tmp_path: Path) -> None:
    lines: list[str] = []
    progress = tfrun.ApplyProgress(lines.append, every_seconds=0)
    assert apply(tmp_path / "ok", FOUR_RESOURCES, progress) == 0
    assert (progress.planned, progress.done) == (4, 4)
    assert lines[0].startswith("terraform apply: 0/4 resources (")
    assert lines[-1].startswith("terraform apply: 4/4 resources (")
    assert progress.errors == []


def test_reports_are_spaced_so_a_long_apply_prints_a_line_every_few_seconds(tmp_path: Path) -> None:
    lines: list[str] = []
    assert apply(tmp_path / "ok", FOUR_RESOURCES, tfrun.ApplyProgress(lines.append, every_seconds=3600)) == 0
    # Only the plan's summary and the apply's end are forced; the four completions in between are not.
    assert len(lines) == 2


def test_a_failed_apply_keeps_terraforms_error(tmp_path: Path) -> None:
    progress = tfrun.ApplyProgress(lambda _line: None)
    assert apply(tmp_path / "refused", REFUSED, progress) != 0
    assert any("this resource is refused on purpose" in error for error in progress.errors)


def test_a_quiet_apply_is_reminded_of_where_it_stands() -> None:
    """A resource that takes a minute completes nothing for a minute: the timer's reminder prints
    the count and the time again once nothing has been printed for a while, and only then."""
    lines: list[str] = []
    progress = tfrun.ApplyProgress(lines.append, every_seconds=3600)
    progress.remind(quiet_seconds=3600)
    assert lines == []
    progress.remind(quiet_seconds=0)
    assert len(lines) == 1 and lines[0].startswith("terraform apply: 0/0 resources (")
