"""The sandbox store's persistence: a journal line per write, folded into the data file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.sandbox import store as store_module
from reconciler.sandbox.store import Store


def snapshot(store: Store) -> list[tuple[str, str, dict[str, object], bool]]:
    return [(o.type, o.id, o.fields, o.deleted) for o in store.find(include_deleted=True)]


def test_every_write_survives_a_restart_in_order_with_the_id_counters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "JOURNAL_MIN_LINES", 4)
    data = tmp_path / "sandbox.json"
    store = Store(data)
    for n in range(10):  # through two folds of the journal into the data file
        store.put("p", "thing", str(store.new_id("p", "thing", 1)), {"n": n})
    store.update("p", "thing", "3", {"n": 30})
    store.delete("p", "thing", "4")
    store.put("p", "thing", "4", {"n": 40})  # brought back: it moves to the end
    reopened = Store(data)
    assert snapshot(reopened) == snapshot(store)
    assert [o.id for o in reopened.find()][-1] == "4"
    assert reopened.new_id("p", "thing", 1) == 11
    journal = data.with_name(data.name + ".journal")
    assert len(journal.read_text().splitlines()) < 4 + 1  # folded, not growing with every write


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    store = Store(data)
    store.put("p", "thing", "1", {"n": 1})
    store.put("p", "thing", "2", {"n": 2})
    journal = data.with_name(data.name + ".journal")
    text = journal.read_text()
    journal.write_text(text[: len(text) - 10])  # killed while writing the second line
    assert [o.id for o in Store(data).find()] == ["1"]


def test_lines_already_in_the_data_file_are_not_applied_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "JOURNAL_MIN_LINES", 3)
    data = tmp_path / "sandbox.json"
    journal = data.with_name(data.name + ".journal")
    store = Store(data)
    for n in range(2):
        store.put("p", "thing", str(n), {"n": n})
    store.delete("p", "thing", "0")  # three lines in the journal
    kept = tmp_path / "kept"
    shutil.copy(journal, kept)
    store.put("p", "thing", "0", {"n": 0})  # the fold: written to the data file, journal dropped
    assert not journal.exists()
    shutil.copy(kept, journal)  # as if killed between replacing the data file and dropping the journal
    assert snapshot(Store(data)) == snapshot(store)


def test_a_missing_data_file_means_an_empty_sandbox_even_beside_an_old_journal(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    Store(data).put("p", "thing", "1", {})
    data.unlink()
    assert Store(data).find() == []
    assert Store(data).find() == []  # and the old journal is gone for good
