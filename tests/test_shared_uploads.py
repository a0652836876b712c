"""Content-addressed uploads: two creatives with the same bytes share one Meta image (its hash)."""

from __future__ import annotations

from pathlib import Path

from reconciler.project import Project
from tests.conftest import png_bytes
from tests.inprocess import InProcessSandbox

SPECS = """\
kind: Target
name: meta-us
platform: meta
ad_account_id: act_42
page_id: "7"
credentials: {token_env: META_ACCESS_TOKEN}
---
kind: Advertiser
name: acme
display_name: ACME
---
kind: Creative
name: left
advertiser: acme
format: image/png
size: 100x100
asset: same.png
click_url: https://acme.example/left
---
kind: Creative
name: right
advertiser: acme
format: image/png
size: 100x100
asset: same.png
click_url: https://acme.example/right
---
kind: Campaign
name: spring
advertiser: acme
start_date: 2026-03-01
end_date: 2026-03-31
targets: [meta-us]
creatives: [left, right]
budget: {daily: 10.00, currency: USD}
audience: {countries: [US]}
"""


def test_dropping_one_of_two_creatives_with_the_same_bytes_keeps_the_shared_image(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "same.png").write_bytes(png_bytes(3))
    (tmp_path / "specs" / "main.yaml").write_text(SPECS)
    sandbox = InProcessSandbox()

    def images() -> list[dict]:
        return sandbox.control("GET", "objects", params={"platform": "meta", "type": "adimage"})

    def apply() -> None:
        sandbox.apply(tmp_path)

    apply()
    state = Project(tmp_path).store.read()
    assert state.id_of("meta-us:adimage/left") == state.id_of("meta-us:adimage/right")
    assert len(images()) == 1
    specs = tmp_path / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("creatives: [left, right]", "creatives: [right]"))
    apply()
    assert len(images()) == 1  # still used by `right`
    assert not Project(tmp_path).plan().has_changes
    specs.write_text(specs.read_text().replace("creatives: [right]", "creatives: []"))
    apply()
    assert images() == []  # the last user is gone: now it is deleted
