"""The model is law: every field of the schema reaches a host, or the schema says why not.

``fields()`` walks every type reachable from ``schema.ESTATE_VARS`` and
``schema.HOST_VARS`` and names each field by a path:

- ``.key`` a key of a mapping: ``voip_call_server.sip_port``;
- ``.*`` any key of a dict variable or field: ``voip_sites.*.trunks``;
- ``[]`` any item of a list: ``voip_users[].grants[].until``.

A path ends at a value holding no further model type: ``voip_site``,
``voip_backup_policy.paths`` (a dict of lists of paths) and
``voip_users[].features.voicemail`` are fields; ``voip_users[].features``
is not (its own fields are).

Each field is in exactly one of three registries:

- ``CONSUMERS`` (here): the code that applies it, on the way to a host (a
  derive function, a filter, a role's defaults, template or tasks, a
  module, a playbook) or that acts on it (the health verdicts, ``voipctl
  user purge``). One or more references, each a repository-relative file
  with an optional ``::symbol``: a module-level name of a Python file
  (``Class.method`` for a method) or a text of another file (a task name).
  Validation (``model/checks/``), the docs (``voipctl/docs``) and the
  synthetic-estate generator (``generate.py``) read fields but apply
  nothing: they are never consumers.
- ``schema.DOCUMENTATION_ONLY``: fields that describe the estate for people
  and change nothing on a host, with the reason.
- ``PENDING`` (here): fields known not to be applied yet, each with its
  issue and a one-line reason. It only shrinks.

``reference_problems`` checks that a consumer is real: the file exists, the
symbol is defined in it, and the field's key (``key_terms``) is read there:
a string of the Python symbol or of a module-level definition it uses,
however deep (``user["did"]``); a word of another file.
"""

from __future__ import annotations

import ast
import re
import types
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

from voipctl.model import schema

ROOT = Path(__file__).resolve().parents[3]

_WRAPPERS = (Annotated, NotRequired, Required)
_SEQUENCES = (list, tuple, set, frozenset)
_UNIONS = (Union, types.UnionType)


def fields(variables: Mapping[str, Any] | None = None) -> list[str]:
    """Every field path of ``variables`` (default: the estate's and the hosts' variables), in schema order."""
    if variables is None:
        variables = {**schema.ESTATE_VARS, **schema.HOST_VARS}
    found: list[str] = []
    for name, annotation in variables.items():
        found += _walk(annotation, name, ())
    return list(dict.fromkeys(found))


def _walk(annotation: Any, path: str, inside: tuple[Any, ...]) -> list[str]:
    """The field paths below ``path`` whose type is ``annotation`` (``path`` itself for a plain value)."""
    origin = get_origin(annotation)
    if origin in _WRAPPERS:
        return _walk(get_args(annotation)[0], path, inside)
    if is_typeddict(annotation):
        if annotation in inside:
            raise ValueError(f"{path}: {annotation.__name__} contains itself")
        hints = get_type_hints(annotation, include_extras=True)
        return [
            found
            for key, sub in hints.items()
            for found in _walk(sub, f"{path}.{key}", (*inside, annotation))
        ]
    if origin in _SEQUENCES and get_args(annotation):
        return _below(get_args(annotation)[0], path, "[]", inside)
    if origin in (dict, Mapping):
        return _below(get_args(annotation)[-1], path, ".*", inside)
    if origin in _UNIONS:
        # ``X | None``: the fields of X (a null value is no field of its own).
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        found = [f for arg in members for f in _walk(arg, path, inside)]
        return list(dict.fromkeys(found))
    return [path]


def _below(item: Any, path: str, step: str, inside: tuple[Any, ...]) -> list[str]:
    """The fields of a container's items; the container itself when they are plain values."""
    found = _walk(item, path + step, inside)
    return [path] if found == [path + step] else found


# --- where each field is consumed -------------------------------------------

# The call server's data: composed in derive/kamailio/__init__.py, one builder per table.
_CALL_SERVER = "tools/voipctl/derive/kamailio/__init__.py::call_server_data"
_SUBSCRIBERS = "tools/voipctl/derive/kamailio/subscribers.py::subscriber_rows"
_ALIASES = "tools/voipctl/derive/kamailio/aliases.py::alias_rows"
_PREFERENCES = "tools/voipctl/derive/kamailio/preferences.py::preference_rows"
_ROUTES = "tools/voipctl/derive/kamailio/routes.py::pstn_routes"
_SITE_TRUNKS = "tools/voipctl/derive/kamailio/routes.py::site_trunks"
_TRUNKS = "tools/voipctl/derive/kamailio/trunks.py::trunk_data"
_PEERS = "tools/voipctl/derive/kamailio/trusted.py::peer_ranges"
_CTI = "tools/voipctl/derive/kamailio/cti.py::cti_data"
_KAMAILIO_CFG = (
    "collections/ansible_collections/voip/estate/roles/kamailio/templates/etc/kamailio/kamailio.cfg.j2"
)
_KAMAILIO_FILTER = (
    "collections/ansible_collections/voip/estate/plugins/filter/voip_kamailio.py::voip_kamailio_data"
)
_HOSTS = "tools/voipctl/adapters/hosts.py::call_servers"
_GATEWAYS = "tools/voipctl/adapters/hosts.py::gateways"
_PHONES = "tools/voipctl/derive/phones.py::phone_data"
_PHONE_COMMON = "tools/voipctl/derive/phones.py::phone_common"
_FIRMWARE = "tools/voipctl/derive/phones.py::firmware"
_GATEWAY_CONFIG = "tools/voipctl/derive/netdev.py::gateway_config"
_SWITCH_CONFIG = "tools/voipctl/derive/netdev.py::switch_config"
_DEVICE_RELEASE = "collections/ansible_collections/voip/estate/roles/release_device/defaults/main.yml"
_USERS_OF_SITE = "tools/voipctl/core/activity.py::users_of_site"
_BASELINE = "collections/ansible_collections/voip/estate/roles/os_baseline/defaults/main.yml"
_APT_SOURCES = (
    "collections/ansible_collections/voip/estate/roles/os_baseline/templates/etc/apt/voip-estate.sources.j2"
)
_BACKUP = "collections/ansible_collections/voip/estate/roles/host_backup/defaults/main.yml"
_BACKUP_TASKS = "collections/ansible_collections/voip/estate/roles/host_backup/tasks/main.yml"
_HEALTH = "tools/voipctl/health.py::evaluate"

CONSUMERS: dict[str, tuple[str, ...]] = {
    "voip_sites.*.timezone": (_BASELINE, _PHONES, _PHONE_COMMON),
    "voip_sites.*.extensions": (_CALL_SERVER, _PEERS, _GATEWAY_CONFIG),
    "voip_sites.*.dids": (_ROUTES,),
    "voip_sites.*.emergency": (_CALL_SERVER,),
    "voip_sites.*.ntp_servers": (_BASELINE, _PHONES, _GATEWAY_CONFIG, _SWITCH_CONFIG),
    "voip_sites.*.voice_vlan": (_PHONES, _SWITCH_CONFIG),
    "voip_sites.*.voice_subnets": (
        _CALL_SERVER,
        "collections/ansible_collections/voip/estate/roles/provisioning_server/defaults/main.yml",
    ),
    "voip_sites.*.trunks": (_SITE_TRUNKS,),
    "voip_sites.*.main_number": (_CALL_SERVER, _PREFERENCES),
    "voip_sites.*.country_code": (_CALL_SERVER,),
    "voip_sites.*.premium_prefixes": (_CALL_SERVER,),
    "voip_hunt_groups[].id": (_PREFERENCES,),
    "voip_hunt_groups[].site": (_ALIASES, _PREFERENCES),
    "voip_hunt_groups[].extension": (_ALIASES, _PREFERENCES),
    "voip_hunt_groups[].did": (_ALIASES,),
    "voip_hunt_groups[].strategy": (_PREFERENCES,),
    "voip_hunt_groups[].ring_timeout": (_PREFERENCES,),
    "voip_hunt_groups[].overflow": (_PREFERENCES,),
    "voip_users[].id": ("tools/voipctl/core/passwords.py::user_sip_password", _PHONES),
    "voip_users[].name": (_PHONES,),
    "voip_users[].site": (_USERS_OF_SITE, _PHONES),
    "voip_users[].extension": (_SUBSCRIBERS, _PHONES),
    "voip_users[].did": (_ALIASES, _PREFERENCES),
    "voip_users[].class_of_service": ("tools/voipctl/core/activity.py::effective_class_of_service",),
    "voip_users[].features.voicemail": (_PREFERENCES,),
    "voip_users[].features.call_forward.unconditional": (_PREFERENCES,),
    "voip_users[].features.call_forward.busy": (_PREFERENCES,),
    "voip_users[].features.call_forward.no_answer": (_PREFERENCES,),
    "voip_users[].features.call_forward.no_answer_timeout": (_PREFERENCES,),
    "voip_users[].features.dnd": (_PREFERENCES,),
    "voip_users[].features.hunt_groups": (_PREFERENCES, _PHONES),
    # Active grants raise the class of service and switch features on for
    # the call servers (call_server_data) and the phones (phone_data).
    "voip_users[].grants[].feature": (
        "tools/voipctl/core/activity.py::effective_class_of_service",
        "tools/voipctl/core/activity.py::active_features",
    ),
    "voip_users[].grants[].until": ("tools/voipctl/core/activity.py::active_grants",),
    "voip_users[].devices[].mac": (_PHONES,),
    "voip_users[].devices[].model": (_PHONES,),
    # The phone's provisioning login generation (module phone_files derives the password).
    "voip_users[].devices[].password_rotation": (_PHONES,),
    # Read by core.activity.is_leaver; phone_data takes the active users (active_users).
    "voip_users[].status": (
        _USERS_OF_SITE,
        "tools/voipctl/core/activity.py::active_features",
        "tools/voipctl/core/activity.py::active_users",
    ),
    # Read by core.activity.leave_day: the day from which ``voipctl user purge``
    # (directory.purge, with left_before) counts the grace days before it removes
    # the leaver and frees the numbers.
    "voip_users[].leave_date": ("tools/voipctl/core/activity.py::leave_day",),
    "voip_phone_models.*.vendor": (_PHONES, _PHONE_COMMON),
    "voip_phone_models.*.line_keys": (_PHONES,),
    "voip_phone_models.*.firmware": (_FIRMWARE,),
    "voip_trunks[].name": (_ROUTES,),
    "voip_trunks[].site": (_SITE_TRUNKS,),
    "voip_trunks[].address": (_ROUTES,),
    "voip_trunks[].port": (_ROUTES,),
    "voip_trunks[].transport": (_ROUTES,),
    "voip_trunks[].did_ranges": (_ROUTES,),
    "voip_trunks[].classes_of_service": (_ROUTES,),
    "voip_trunks[].channels": (_TRUNKS, _KAMAILIO_CFG),
    # The trunk's account (uacreg): answers a carrier's challenge, registers.
    "voip_trunks[].credentials_ref": (
        _TRUNKS,
        "collections/ansible_collections/voip/estate/roles/kamailio/vars/main.yml",
    ),
    "voip_trunks[].username": (_TRUNKS,),
    "voip_trunks[].realm": (_TRUNKS,),
    "voip_trunks[].register": (_TRUNKS,),
    # The health checks send SIP OPTIONS to these carriers only.
    "voip_trunks[].options_ping": ("playbooks/health.yml",),
    "voip_cti_accounts[].name": (_CTI,),
    "voip_cti_accounts[].source_networks": (_CTI, _BASELINE),
    "voip_cti_accounts[].rights": (_CTI,),
    "voip_cti_accounts[].call_servers": (_CTI,),
    "voip_cti_accounts[].sites": (_CTI,),
    "voip_cti_accounts[].credentials_ref": (
        _CTI,
        "collections/ansible_collections/voip/estate/roles/kamailio/vars/main.yml",
    ),
    "voip_backup_policy.server": (_BACKUP,),
    "voip_backup_policy.retention.daily": (
        _BACKUP_TASKS,
        "collections/ansible_collections/voip/estate/plugins/modules/backup_store.py",
    ),
    "voip_backup_policy.retention.weekly": (
        _BACKUP_TASKS,
        "collections/ansible_collections/voip/estate/plugins/modules/backup_store.py",
    ),
    "voip_backup_policy.retention.monthly": (
        _BACKUP_TASKS,
        "collections/ansible_collections/voip/estate/plugins/modules/backup_store.py",
    ),
    "voip_backup_policy.store": (_BACKUP,),
    "voip_backup_policy.paths": (_BACKUP,),
    "voip_backup_policy.databases": (_BACKUP,),
    "voip_backup_policy.services": (_BACKUP,),
    # The controller's nightly timer (playbooks/backup_schedule.yml).
    "voip_backup_policy.time": (
        "collections/ansible_collections/voip/estate/roles/backup_schedule/defaults/main.yml",
    ),
    # site.yml and users.yml import it: a point before they change hosts.
    "voip_backup_policy.before_change": ("playbooks/backup_before_change.yml",),
    "voip_release.components": (
        "collections/ansible_collections/voip/estate/roles/kamailio/defaults/main.yml",
        "collections/ansible_collections/voip/estate/roles/rtpengine/defaults/main.yml",
        "collections/ansible_collections/voip/estate/roles/provisioning_server/defaults/main.yml",
        "collections/ansible_collections/voip/estate/plugins/filter/voip_release.py::voip_release_components",
        _FIRMWARE,
    ),
    "voip_release.firmware_sites": (_FIRMWARE,),
    # The device release (its image, served and booted) and the version report read them.
    "voip_release.device_images.*.version": (_DEVICE_RELEASE, "playbooks/versions.yml"),
    "voip_release.device_images.*.image": (_DEVICE_RELEASE,),
    "voip_release.device_images.*.sha512": (_DEVICE_RELEASE,),
    "voip_gateway.model": (_DEVICE_RELEASE, "playbooks/versions.yml"),
    "voip_switch.model": (_DEVICE_RELEASE, "playbooks/versions.yml"),
    "voip_apt_repositories[].uri": (_APT_SOURCES,),
    "voip_apt_repositories[].suite": (_APT_SOURCES,),
    "voip_apt_repositories[].components": (_APT_SOURCES,),
    "voip_apt_repositories[].signed_by": (_APT_SOURCES,),
    "voip_apt_repositories[].trusted": (_APT_SOURCES,),
    # Started by the remediation, checked by the health checks.
    "voip_health_policy.services": ("playbooks/remediate.yml", "playbooks/health.yml"),
    # The health verdicts (and so the alerts of deploy/systemd/voip-health.service).
    **{
        f"voip_health_policy.thresholds.{kind}.{level}": (_HEALTH,)
        for kind in schema.HealthThresholds.__annotations__
        for level in ("warning", "critical")
    },
    # How long ``voipctl user purge`` keeps a leaver (and their numbers).
    "voip_directory_policy.leaver_grace_days": ("tools/voipctl/directory_store.py::Directory.grace_days",),
    # How long a retired MAC keeps its unassigned profile and login (module phone_files).
    "voip_directory_policy.retired_device_grace_days": (
        "collections/ansible_collections/voip/estate/roles/provisioning_server/defaults/main.yml",
    ),
    # The working day international calls are judged by (toll fraud).
    **{
        f"voip_health_policy.working_hours.{key}": ("playbooks/health.yml",)
        for key in ("start", "end", "days")
    },
    # How long the call servers keep their call records (the daily purge).
    "voip_call_records.retention_days": (
        "collections/ansible_collections/voip/estate/roles/kamailio/defaults/main.yml",
    ),
    # OS updates: the release_host role hands the security origins to the module os_updates,
    # which judges each update's repository by them; the health check judges the wait.
    **{
        f"voip_os_updates.security_origins[].{key}": (
            "collections/ansible_collections/voip/estate/plugins/module_utils/voip_os_updates.py::matches_origin",
        )
        for key in ("origin", "label", "suite")
    },
    "voip_os_updates.pending_days": ("tools/voipctl/health_os.py::check_os_updates",),
    "voip_site": (_KAMAILIO_FILTER, _HOSTS, _BASELINE),
    "ansible_host": (
        _KAMAILIO_FILTER,
        _HOSTS,
        "collections/ansible_collections/voip/estate/roles/kamailio/defaults/main.yml",
    ),
    "voip_call_server.sip_domain": (_CALL_SERVER, _HOSTS),
    "voip_call_server.sip_port": (
        "collections/ansible_collections/voip/estate/roles/kamailio/defaults/main.yml",
        _HOSTS,
        _BASELINE,
    ),
    "voip_call_server.rtp_ports": (
        "collections/ansible_collections/voip/estate/roles/rtpengine/defaults/main.yml",
        _BASELINE,
    ),
    "voip_call_server.test_call.caller": (
        "collections/ansible_collections/voip/estate/roles/release_host/tasks/check_call_server.yml",
    ),
    "voip_call_server.test_call.callee": (
        "collections/ansible_collections/voip/estate/roles/release_host/tasks/check_call_server.yml",
    ),
    "voip_gateway.pri_spans[].port": (_GATEWAY_CONFIG,),
    "voip_gateway.pri_spans[].switchtype": (_GATEWAY_CONFIG,),
    "voip_gateway.pri_spans[].clock_source": (_GATEWAY_CONFIG,),
    "voip_gateway.pri_spans[].did_ranges": (_GATEWAY_CONFIG,),
    "voip_gateway.pri_spans[].channels": (_GATEWAY_CONFIG,),
    "voip_gateway.fxs_ports[].port": (_GATEWAY_CONFIG,),
    "voip_gateway.fxs_ports[].extension": (_GATEWAY_CONFIG, _GATEWAYS),
    "voip_gateway.fxs_ports[].description": (_GATEWAY_CONFIG,),
    "voip_gateway.fxo_ports[].port": (_GATEWAY_CONFIG,),
    "voip_gateway.fxo_ports[].number": (_GATEWAY_CONFIG,),
    "voip_gateway.fxo_ports[].route_to": (_GATEWAY_CONFIG,),
    "voip_switch.voice_vlan": (_SWITCH_CONFIG,),
    "voip_switch.data_vlan": (_SWITCH_CONFIG,),
    "voip_switch.ports[].name": (_SWITCH_CONFIG,),
    "voip_switch.ports[].description": (_SWITCH_CONFIG,),
    "voip_switch.ports[].phone_mac": (_SWITCH_CONFIG,),
    "voip_switch.ports[].poe": (_SWITCH_CONFIG,),
}

# Fields no host applies yet (issue #22): apply one, then move it to CONSUMERS.
PENDING: dict[str, str] = {}


# --- the checks ---------------------------------------------------------------


Registries = Mapping[str, Mapping[str, Any]]


def registries(
    consumers: Mapping[str, Iterable[str]] | None = None,
    documentation: Mapping[str, str] | None = None,
    pending: Mapping[str, str] | None = None,
) -> Registries:
    """The three registries by their qualified names (default: the real ones; a test passes its own)."""
    return {
        "voipctl.model.contract.CONSUMERS": CONSUMERS if consumers is None else consumers,
        "voipctl.model.schema.DOCUMENTATION_ONLY": (
            schema.DOCUMENTATION_ONLY if documentation is None else documentation
        ),
        "voipctl.model.contract.PENDING": PENDING if pending is None else pending,
    }


def coverage_problems(paths: Iterable[str], found_in: Registries | None = None) -> list[str]:
    """The fields of ``paths`` in no registry, or in more than one: one message each, saying what to do."""
    found_in = registries() if found_in is None else found_in
    problems = []
    for path in paths:
        found = [name for name, registry in found_in.items() if path in registry]
        if not found:
            problems.append(
                f"field {path} is read by nothing: consume it (name the consumer in "
                "voipctl.model.contract.CONSUMERS) or mark it in schema.DOCUMENTATION_ONLY "
                "(known to be not applied yet: voipctl.model.contract.PENDING, with its issue)"
            )
        elif len(found) > 1:
            problems.append(f"field {path} is in {' and '.join(found)}: keep it in one of them")
    return problems


def entry_problems(paths: Iterable[str], found_in: Registries | None = None) -> list[str]:
    """Registry entries naming no field of ``paths``, empty ones, and pending ones without their issue."""
    found_in = registries() if found_in is None else found_in
    known = set(paths)
    problems = []
    for name, registry in found_in.items():
        for path, value in registry.items():
            if path not in known:
                problems.append(
                    f"{name} names {path}, which is not a field of the schema: remove or rename it"
                )
            elif not value:
                problems.append(f"{name}[{path!r}] is empty: name the consumer or give the reason")
            elif name.endswith("PENDING") and not re.match(r"#\d+: \S", str(value)):
                problems.append(f"{name}[{path!r}] does not start with its issue: '#22: why'")
    return problems


def key_terms(path: str, paths: Iterable[str] = ()) -> list[str]:
    """The words a consumer of ``path`` must contain: the field's key, and its parent's when ambiguous.

    ``voip_health_policy.thresholds.disk_used_pct.warning``: ``warning`` and
    ``disk_used_pct`` (every threshold has a ``warning``). A variable's
    name is never required (derive functions take its value).
    """
    parent, _, key = path.rpartition(".")
    terms = [key.removesuffix("[]")]
    grand = parent.rpartition(".")[0]
    if grand and any(
        other != path and other.endswith("." + key) and other.rpartition(".")[0].rpartition(".")[0] == grand
        for other in paths
    ):
        owner = parent.rpartition(".")[2].removesuffix("[]")
        if owner != "*":
            terms.append(owner)
    return terms


def reference_problems(
    path: str, references: Iterable[str], terms: Iterable[str], root: Path = ROOT
) -> list[str]:
    """What is wrong with the consumers named for ``path``: missing files or symbols, the key absent.

    A Python consumer must hold each term as a string (``user["did"]``,
    ``.get("did")``) in its symbol or the module-level definitions the
    symbol uses (the whole module without a symbol); another file must
    hold it as a word (``voip_call_server.sip_port``).
    """
    problems = []
    for reference in references:
        relative, _, symbol = reference.partition("::")
        text = _read(root / relative)
        if text is None:
            problems.append(f"{path}: consumer {relative} does not exist")
            continue
        if relative.endswith(".py"):
            words = _python_strings(text, symbol)
            found = None if words is None else words.__contains__
        else:
            found = None if symbol not in text else _word_finder(text)
        if found is None:
            problems.append(f"{path}: {symbol} is not defined in {relative}")
            continue
        problems += [
            f"{path}: {reference} does not read {term!r}: name the code that reads the field"
            for term in terms
            if not found(term)
        ]
    return problems


def _word_finder(text: str) -> Callable[[str], bool]:
    return lambda term: re.search(rf"(?<![A-Za-z0-9_]){re.escape(term)}(?![A-Za-z0-9_])", text) is not None


@cache
def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _python_strings(text: str, symbol: str) -> set[str] | None:
    """The strings in ``symbol`` (``name``, ``Class.method``; empty: the module) and the definitions it uses.

    None when the module does not define ``symbol``.
    """
    tree = ast.parse(text)
    definitions: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            definitions.update({t.id: node for t in targets if isinstance(t, ast.Name)})
    head, _, member = symbol.partition(".")
    start: ast.AST | None = definitions.get(head) if symbol else tree
    if member:
        body = start.body if isinstance(start, ast.ClassDef) else []
        start = next((n for n in body if getattr(n, "name", None) == member), None)
    if start is None:
        return None
    todo, seen, strings = [start], set(), set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                strings.add(sub.value)
            elif isinstance(sub, ast.Name) and sub.id in definitions:
                todo.append(definitions[sub.id])
    return strings
