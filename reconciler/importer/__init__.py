"""Adopt what already runs: list a target's live objects, write specs for them, record them in the state.

One direction, as everywhere: list (providers, a page at a time) -> map to spec
documents (one module per platform, reconciler/importer/PLATFORM.py) -> write
specs/imported/TARGET.yaml and assets/imported/ -> compile the project ->
record each imported address with its live attributes -> plan, to report any
imported object whose spec would still change it.

Objects the state already records are left alone, so a second import writes
nothing. What the spec format cannot express is listed (Skipped), not written.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.connect import Connection, open_providers
from reconciler.errors import ReconcilerError, SpecError
from reconciler.importer.model import Account, Mapped, Names, PlatformImporter, Skipped, Unit
from reconciler.importer.writer import SpecWriter
from reconciler.model import Action, RecordedResource, Resource, TargetConfig, resolve_refs
from reconciler.plan import build_plan, plan_targets
from reconciler.providers.base import Listed, Provider
from reconciler.resource_types import types_of
from reconciler.spec import SpecSet
from reconciler.spec.compile import Compiled, compile_specs
from reconciler.spec.loader import load_specs
from reconciler.state import State, StateStore

# The keys platforms name their objects by, for --name-contains and messages.
NAME_KEYS = ("name", "campaign_name", "adgroup_name", "ad_name", "file_name", "title")


@dataclass(frozen=True)
class ImportRequest:
    targets: tuple[str, ...] = ()  # none: every target of the specs
    out: Path | None = None  # one file for every target, instead of specs/imported/TARGET.yaml
    types: tuple[str, ...] = ()  # address types (campaign, adset, advertisement, ...); none: all
    name_contains: str | None = None


@dataclass
class ImportResult:
    listed: dict[str, int] = field(default_factory=dict)  # target -> live objects listed
    already: int = 0  # of those, objects the state records already (left alone)
    files: list[Path] = field(default_factory=list)  # spec and asset files written
    recorded: list[str] = field(default_factory=list)  # addresses now in the state
    skipped: list[Skipped] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # imported, but the next plan would change it


def platform_importer(platform: str) -> PlatformImporter:
    try:
        return importlib.import_module(f"reconciler.importer.{platform}")  # type: ignore[return-value]
    except ModuleNotFoundError:
        raise ReconcilerError(f"import from {platform} is not supported yet") from None


def run_import(
    directory: Path,
    store: StateStore,
    connect: Callable[[Mapping[str, TargetConfig]], Connection],
    endpoint_of: Callable[[TargetConfig], str],
    request: ImportRequest,
    *,
    variables: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> ImportResult:
    """Import the live objects of the requested targets into the project at `directory`, under the state lock."""
    specs = load_specs(directory, dict(variables or {}))
    compiled = compile_specs(specs)
    names = _chosen_targets(specs, request.targets)
    with store.lock("import"):
        state = store.read()
        if state.pending:
            raise ReconcilerError(
                "the state holds operations whose outcome is unknown (an earlier apply was interrupted); "
                "run `reconciler apply` to resolve them, then import"
            )
        targets, _ = plan_targets(compiled.targets, state, endpoint_of)  # refuses another endpoint than recorded
        chosen = {name: targets[name] for name in names}
        _check_types(request.types, chosen)
        return asyncio.run(_import(directory, specs, chosen, state, store, connect(chosen), endpoint_of, request,
                                   variables or {}, progress))  # fmt: skip


def _chosen_targets(specs: SpecSet, requested: Sequence[str]) -> list[str]:
    unknown = [name for name in requested if name not in specs.targets]
    if unknown:
        known = ", ".join(sorted(specs.targets)) or "none"
        raise ReconcilerError(f"no target {', '.join(unknown)} in the specs (declared: {known})")
    names = list(dict.fromkeys(requested)) or sorted(specs.targets)
    if not names:
        raise ReconcilerError("the specs declare no Target: add one to specs/targets.yaml, then import")
    return names


def _check_types(types: Sequence[str], targets: Mapping[str, TargetConfig]) -> None:
    known = sorted({type_ for t in targets.values() for type_ in types_of(t.platform)})
    unknown = [type_ for type_ in types if type_ not in known]
    if unknown:
        raise ReconcilerError(
            f"--type {', '.join(unknown)}: no such type on {', '.join(sorted(targets))} (types: {', '.join(known)})"
        )


async def _import(
    directory: Path,
    specs: SpecSet,
    targets: Mapping[str, TargetConfig],
    state: State,
    store: StateStore,
    connection: Connection,
    endpoint_of: Callable[[TargetConfig], str],
    request: ImportRequest,
    variables: Mapping[str, Any],
    progress: Callable[[str], None],
) -> ImportResult:
    result = ImportResult()
    taken = {
        "Advertiser": specs.advertisers, "Zone": specs.zones, "Creative": specs.creatives,
        "Campaign": specs.campaigns, "Placement": specs.placements,
    }  # fmt: skip
    names = Names({kind: list(declared) for kind, declared in taken.items()})
    async with open_providers(connection, targets) as providers:
        listings = await asyncio.gather(*(_list(name, providers[name], progress) for name in targets))
        listed = dict(zip(targets, listings, strict=True))
        writer = SpecWriter(directory, request.out)
        selected: dict[str, list[Unit]] = {}
        for name in targets:  # one after the other: names are claimed in a stable order
            # Rows of the account itself (its currency, its name) are context, not objects to adopt.
            resource_types = set(types_of(targets[name].platform))
            result.listed[name] = sum(len(rows) for t, rows in listed[name].items() if t in resource_types)
            recorded = {(r.type, r.id): _name_of(r.address) for r in state.resources.values() if r.target == name}
            fresh = {type_: [o for o in rows if (type_, o.id) not in recorded] for type_, rows in listed[name].items()}
            result.already += sum(
                1 for t, rows in listed[name].items() if t in resource_types for o in rows if (t, o.id) in recorded
            )
            account = Account(specs.targets[name], fresh, recorded, names, providers[name].download)
            mapped: Mapped = await platform_importer(targets[name].platform).map_objects(account)
            result.skipped += mapped.skipped
            selected[name] = _select(mapped.units, request)
        for name, units in selected.items():
            if units:
                writer.add(name, units)
        if not writer.pending:
            return result
        result.files = writer.write()
        try:
            compiled = compile_specs(load_specs(directory, dict(variables)))
        except SpecError as error:
            writer.undo()
            raise ReconcilerError(
                f"the specs written for the import do not compile, so nothing was imported (a bug in reconciler's "
                f"importer; please report it):\n{error}"
            ) from None
        by_address = {r.address: r for r in compiled.resources}
        rows = {(name, o.type, o.id): o for name, by_type in listed.items() for lst in by_type.values() for o in lst}
        records = _records(selected, by_address, rows, state, providers, result)
    for name in targets:
        if state.targets.get(name) != targets[name]:
            await asyncio.to_thread(store.record_target, targets[name])
    for record in records:
        await asyncio.to_thread(store.record, record.address, record)
        result.recorded.append(record.address)
    result.differences += _differences(compiled, store.read(), endpoint_of, set(result.recorded))
    return result


async def _list(target: str, provider: Provider, progress: Callable[[str], None]) -> dict[str, list[Listed]]:
    importer = platform_importer(getattr(provider, "platform", ""))
    found: dict[str, list[Listed]] = {}
    for type_ in importer.TYPES:  # parents first; the target's rate limit paces the pages
        found[type_] = await provider.list_all(type_)
        progress(f"{target}: listed {len(found[type_])} {type_} object{'s' if len(found[type_]) != 1 else ''}")
    return found


def _name_of(address: str) -> str:
    """'meta-us:campaign/spring#deposed' -> 'spring'."""
    return address.partition("/")[2].partition("#")[0]


def platform_name(row: Mapping[str, Any]) -> str:
    for key in NAME_KEYS:
        if isinstance(row.get(key), str):
            return row[key]
    return ""


def _select(units: list[Unit], request: ImportRequest) -> list[Unit]:
    """The units the filters match, with what they cannot go without.

    A unit matches when one of its live objects has a requested type and a name containing
    the text. Each chosen unit brings the documents it names (`needs`); a chosen Creative also
    brings the campaigns that show it, since a creative compiles only within a campaign.
    """
    if not request.types and request.name_contains is None:
        return units
    text = (request.name_contains or "").lower()

    def matches(unit: Unit) -> bool:
        return any(
            (not request.types or obj.type in request.types) and text in platform_name(obj.row).lower()
            for obj in unit.objects
        )

    by_key = {unit.key: unit for unit in units}
    showing: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for unit in units:
        for need in unit.needs:
            if need[0] == "Creative":
                showing.setdefault(need, []).append(unit.key)
    chosen: set[tuple[str, str]] = set()
    todo = [unit.key for unit in units if matches(unit)]
    while todo:
        key = todo.pop()
        if key in chosen or key not in by_key:
            continue
        chosen.add(key)
        todo += by_key[key].needs
        if key[0] == "Creative":
            todo += showing.get(key, [])
    return [unit for unit in units if unit.key in chosen]


def _records(
    selected: Mapping[str, list[Unit]],
    compiled: Mapping[str, Resource],
    rows: Mapping[tuple[str, str, str], Listed],
    state: State,
    providers: Mapping[str, Provider],
    result: ImportResult,
) -> list[RecordedResource]:
    """The state record of every imported address: its live attributes, shaped like the compiled ones."""
    ids = {address: id_ for units in selected.values() for unit in units for address, id_ in unit.ids.items()}
    records = []
    for name, units in selected.items():
        for address, id_ in ((a, i) for unit in units for a, i in unit.ids.items()):
            resource = compiled.get(address)
            listed = rows.get((name, resource.type, id_)) if resource else None
            if resource is None or listed is None:
                result.differences.append(
                    f"{address} (id {id_}): written, but the specs derive no such object; not recorded "
                    "(a bug in reconciler's importer; please report it)"
                )
                continue
            expected, _ = resolve_refs(resource.attributes, resource.refs, lambda a: ids.get(a) or state.id_of(a))
            attributes = providers[name].attributes_of(resource.type, listed.row, expected)
            records.append(
                RecordedResource(address, id_, resource.type, resource.target, attributes, resource.depends_on)
            )
    return records


def _differences(
    compiled: Compiled, state: State, endpoint_of: Callable[[TargetConfig], str], imported: Iterable[str]
) -> list[str]:
    """An imported object the next plan would change: its spec does not say exactly what runs."""
    plan = build_plan(compiled, state, endpoint_of=endpoint_of)
    wanted = set(imported)
    return [
        f"{change.address}: imported, but the next plan would {change.action.value} it "
        f"({', '.join(change.changed_fields) or 'no fields'}); edit its spec or accept the change"
        for change in plan.changes
        if change.address in wanted and change.action is not Action.NOOP
    ]
