"""Call sites as messages show them: relative to the working directory when inside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_durable.engine._location import display_path


def test_a_path_inside_the_working_directory_is_shown_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inside = str(tmp_path / "wf" / "orders.py")
    assert display_path(inside) == os.path.join("wf", "orders.py")


def test_a_path_outside_it_is_shown_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    outside = str(tmp_path / "elsewhere.py")
    assert display_path(outside) == outside


def test_the_same_file_follows_a_change_of_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Results are remembered per file, but per working directory too: never a stale answer.
    (tmp_path / "pkg").mkdir()
    filename = str(tmp_path / "pkg" / "wf.py")
    monkeypatch.chdir(tmp_path)
    assert display_path(filename) == os.path.join("pkg", "wf.py")
    monkeypatch.chdir(tmp_path / "pkg")
    assert display_path(filename) == "wf.py"
    monkeypatch.chdir(tmp_path)
    assert display_path(filename) == os.path.join("pkg", "wf.py")
