"""voipctl lab: topology from the inventory, image recipes, container decisions (podman faked)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from voipctl.errors import LabError
from voiplab import containers, images, keys, lab, readiness, topology
from voiplab.podman import Podman

ROOT = Path(__file__).resolve().parents[2]


# -- topology -----------------------------------------------------------------------


def write_inventory(
    tmp_path: Path, hosts: dict[str, Any], network: dict | None = None, peers: dict | None = None
) -> Path:
    inv = tmp_path / "inventory" / "lab"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"linux": {"hosts": hosts}}}}))
    net = network if network is not None else {"name": "t", "subnet": "10.9.0.0/24", "gateway": "10.9.0.1"}
    (inv / "group_vars" / "all" / "lab.yml").write_text(
        yaml.safe_dump(
            {"lab_network": net, "lab_state_dir": str(tmp_path / ".lab"), "ansible_user": "ops"}
            | ({"lab_peers": peers} if peers is not None else {})
        )
    )
    return inv


NODE = {"image": "node", "systemd": True}


def test_real_lab_inventory_loads():
    topo = topology.load_lab(ROOT)
    names = {h.name for h in topo.hosts}
    assert {"cs1", "cs2", "prov1", "bak1", "gw1", "sw1"} <= names
    cs1 = topo.host("cs1")
    assert "call_servers" in cs1.groups and cs1.systemd and cs1.site == "ams"
    assert topo.host("voiplab-sw1").name == "sw1"


def test_topology_from_a_small_inventory(tmp_path):
    write_inventory(tmp_path, {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}})
    topo = topology.load_lab(tmp_path)
    assert [(h.name, h.address, h.image) for h in topo.hosts] == [("a1", "10.9.0.5", "node")]
    assert topo.state_dir == tmp_path / ".lab"


def test_real_lab_has_peers_without_ssh():
    topo = topology.load_lab(ROOT)
    carrier = topo.host("carrier")
    assert carrier.peer and not carrier.ssh and not carrier.systemd
    assert carrier.command == ["sleep", "infinity"]
    assert all(h.ssh for h in topo.hosts if not h.peer)


def test_peers_are_read_after_hosts(tmp_path):
    write_inventory(
        tmp_path,
        {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}},
        peers={"far": {"address": "10.9.0.60", "image": "sipp", "description": "a carrier"}},
    )
    topo = topology.load_lab(tmp_path)
    assert [(h.name, h.address, h.peer) for h in topo.hosts] == [
        ("a1", "10.9.0.5", False),
        ("far", "10.9.0.60", True),
    ]
    assert topo.host("far").description == "a carrier"


@pytest.mark.parametrize(
    ("peers", "message"),
    [
        ({"far": {"image": "sipp"}}, "lab_peers.far: needs address and image"),
        ({"far": {"address": "10.9.0.5", "image": "sipp"}}, "10.9.0.5 is already used by a1"),
        ({"far": {"address": "10.8.0.5", "image": "sipp"}}, "is not a usable address of 10.9.0.0/24"),
        ({"a1": {"address": "10.9.0.9", "image": "sipp"}}, "a1 is already the name of an inventory host"),
        (["far"], "lab_peers must be a mapping"),
        ({"far": {"address": "10.9.0.9", "image": "sipp", "volumes": {"../x": "/srv"}}}, "far.volumes"),
        ({"far": {"address": "10.9.0.9", "image": "sipp", "volumes": {"apt": "srv"}}}, "far.volumes"),
        ({"far": {"address": "10.9.0.9", "image": "sipp", "volumes": {"/etc": "/srv"}}}, "far.volumes"),
        ({"far": {"address": "10.9.0.9", "image": "sipp", "volumes": {"certs/../x": "/srv"}}}, "far.volumes"),
    ],
)
def test_bad_peers_are_refused(tmp_path, peers, message):
    write_inventory(tmp_path, {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}}, peers=peers)
    with pytest.raises(LabError, match=message):
        topology.load_lab(tmp_path)


def test_a_peer_mounts_its_lab_state_directories_read_only(tmp_path):
    write_inventory(
        tmp_path,
        {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}},
        peers={"repo": {"address": "10.9.0.65", "image": "sipp", "volumes": {"apt": "/srv/apt"},
                        "command": ["python3", "-m", "http.server"]}},
    )  # fmt: skip
    topo = topology.load_lab(tmp_path)
    args = containers.run_args(topo, topo.host("repo"), "img")
    assert f"{topo.state_dir / 'apt'}:/srv/apt:ro" in args
    assert args[-4:] == ["img", "python3", "-m", "http.server"]


def test_a_tls_peer_gets_a_certificate_from_the_lab_ca_for_its_address(tmp_path):
    import ssl

    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    write_inventory(
        tmp_path,
        {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}},
        peers={"tls": {"address": "10.9.0.63", "image": "sipp", "certificate": True,
                       "volumes": {"certs/tls": "/etc/sip-tls"}},
               "plain": {"address": "10.9.0.64", "image": "sipp"}},
    )  # fmt: skip
    topo = topology.load_lab(tmp_path)
    rows = keys.ensure_certificates(topo)
    assert rows == [("certificate of tls", "issued by the lab CA")]
    certs = topo.state_dir / "certs"
    assert not (certs / "plain").exists()
    assert oct((certs / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct((certs / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
    cert = x509.load_pem_x509_certificate((certs / "tls" / "cert.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["10.9.0.63"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    # A TLS client that trusts the lab CA accepts the pair.
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs / "tls" / "cert.pem", certs / "tls" / "key.pem")
    assert context.verify_mode == ssl.CERT_REQUIRED
    # Made once: a second run issues nothing and keeps the CA.
    before = (certs / "ca.pem").read_bytes()
    assert keys.ensure_certificates(topo) == []
    assert (certs / "ca.pem").read_bytes() == before
    args = containers.run_args(topo, topo.host("tls"), "img")
    assert f"{certs / 'tls'}:/etc/sip-tls:ro" in args


def test_all_up_needs_ssh_only_from_managed_hosts():
    host = {"container": "running", "ssh": True}
    peer = {"container": "running", "ssh": False, "peer": True}
    assert readiness.all_up([host, peer])
    assert not readiness.all_up([{**host, "ssh": False}, peer])
    assert not readiness.all_up([host, {**peer, "container": "exited"}])


@pytest.mark.parametrize(
    ("hosts", "network", "message"),
    [
        ({"a1": {"ansible_host": "10.9.0.5"}}, None, "host a1: lab_container.image is not set"),
        (
            {"a1": {"ansible_host": "nowhere", "lab_container": NODE}},
            None,
            "host a1: ansible_host is not an IPv4",
        ),
        (
            {"a1": {"ansible_host": "10.8.0.5", "lab_container": NODE}},
            None,
            "is not a usable address of 10.9.0.0/24",
        ),
        ({"a1": {"ansible_host": "10.9.0.1", "lab_container": NODE}}, None, "is not a usable address"),
        (
            {
                "a1": {"ansible_host": "10.9.0.5", "lab_container": NODE},
                "a2": {"ansible_host": "10.9.0.5", "lab_container": NODE},
            },
            None,
            "hosts a1 and a2 share ansible_host 10.9.0.5",
        ),
        (
            {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}},
            {"name": "t"},
            "lab_network needs name, subnet",
        ),
    ],
)
def test_bad_topology_is_refused_with_the_reason(tmp_path, hosts, network, message):
    write_inventory(tmp_path, hosts, network)
    with pytest.raises(LabError) as exc:
        topology.load_lab(tmp_path)
    assert message in str(exc.value)


def test_unknown_host_is_named():
    with pytest.raises(LabError, match="'cs9' is not a lab host"):
        topology.load_lab(ROOT).host("cs9")


# -- images ------------------------------------------------------------------------------


def test_recipes_and_build_order():
    recipes = images.load_recipes(ROOT / "lab" / "images")
    assert images.build_order(recipes, {"node", "netdev"}) == ["base", "netdev", "node"]
    with pytest.raises(LabError, match="asks for lab image 'nope'"):
        images.build_order(recipes, {"nope"})


def test_recipe_hash_follows_context_and_parent(tmp_path):
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "Containerfile").write_text("FROM x\n")
    spec = {"base": {"debootstrap": {"suite": "bookworm"}}, "child": {"from": "base", "context": "child"}}
    (tmp_path / "images.yml").write_text(yaml.safe_dump(spec))
    before = images.recipe_hash(images.load_recipes(tmp_path), "child")
    (tmp_path / "child" / "Containerfile").write_text("FROM x\nRUN true\n")
    after_file = images.recipe_hash(images.load_recipes(tmp_path), "child")
    spec["base"]["debootstrap"]["suite"] = "trixie"
    (tmp_path / "images.yml").write_text(yaml.safe_dump(spec))
    after_parent = images.recipe_hash(images.load_recipes(tmp_path), "child")
    assert len({before, after_file, after_parent}) == 3


def test_recipe_needs_a_source(tmp_path):
    (tmp_path / "images.yml").write_text(yaml.safe_dump({"x": {"context": "x"}}))
    with pytest.raises(LabError, match="x needs either 'debootstrap' or 'from'"):
        images.load_recipes(tmp_path)


# -- containers and network (podman faked) -----------------------------------------------------


class FakePodman(Podman):
    def __init__(self, networks=(), existing_network=None):
        self.calls: list[list[str]] = []
        self._networks = list(networks)
        self._existing = existing_network
        self.env = {}

    def run(self, args, **kwargs):
        self.calls.append(list(args))
        return subprocess.CompletedProcess(args, 0, "", "")

    def network(self, name):
        return self._existing

    def networks(self):
        return self._networks


@pytest.fixture
def topo(tmp_path):
    write_inventory(tmp_path, {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}})
    topo = topology.load_lab(tmp_path)
    topo.ssh_dir.mkdir(parents=True)
    (topo.ssh_dir / "id_ed25519.pub").write_text("ssh-ed25519 AAAActl voiplab-controller\n")
    return topo


def test_network_created_when_missing(topo, monkeypatch):
    monkeypatch.setattr(containers, "_host_networks", lambda: [])
    podman = FakePodman()
    assert containers.ensure_network(podman, topo) == "created"
    assert podman.calls[0][:2] == ["network", "create"] and "10.9.0.0/24" in podman.calls[0]


def test_network_with_other_subnet_is_refused(topo):
    podman = FakePodman(existing_network={"subnets": [{"subnet": "10.7.0.0/24"}]})
    with pytest.raises(LabError, match=r"exists with subnet 10\.7\.0\.0/24"):
        containers.ensure_network(podman, topo)


def test_subnet_used_by_another_network_is_refused(topo, monkeypatch):
    monkeypatch.setattr(containers, "_host_networks", lambda: [])
    podman = FakePodman(networks=[{"name": "other", "subnets": [{"subnet": "10.9.0.0/16"}]}])
    with pytest.raises(LabError, match="in use by podman network other"):
        containers.ensure_network(podman, topo)
    assert podman.calls == []


def test_subnet_used_by_an_interface_is_refused(topo, monkeypatch):
    import ipaddress

    monkeypatch.setattr(
        containers, "_host_networks", lambda: [("eth9", ipaddress.IPv4Network("10.9.0.0/25"))]
    )
    with pytest.raises(LabError, match="by interface eth9"):
        containers.ensure_network(FakePodman(), topo)


def test_container_decisions(topo):
    host = topo.hosts[0]
    args = containers.run_args(topo, host, "img")
    want = containers.spec_hash(args, "id1")
    podman = FakePodman()
    assert containers.ensure_container(podman, topo, host, "img", "id1", None) == "created"
    running = {"State": "running", "Labels": {containers.SPEC_LABEL: want}}
    assert containers.ensure_container(podman, topo, host, "img", "id1", running) == "running"
    stopped = {"State": "exited", "Labels": {containers.SPEC_LABEL: want}}
    assert containers.ensure_container(podman, topo, host, "img", "id1", stopped).startswith("started")
    assert containers.ensure_container(podman, topo, host, "img", "id2", running).startswith("recreated")
    verbs = [c[0] for c in podman.calls]
    assert verbs == ["run", "start", "rm", "run"]


def test_first_administrator_is_created_with_arguments_not_script_text(topo):
    """The account and key reach the container as arguments: a hostile name or key cannot become shell."""
    (topo.ssh_dir / "id_ed25519.pub").write_text("ssh-ed25519 AAAAkey ctl'; touch /pwned; '\n")
    podman = FakePodman()
    containers.bootstrap_login(podman, topo, topo.hosts[0])
    (call,) = podman.calls
    assert call[:5] == ["exec", "voiplab-a1", "sh", "-c", containers.BOOTSTRAP_LOGIN]
    assert call[5:] == ["sh", "ops", "ssh-ed25519 AAAAkey ctl'; touch /pwned; '"]
    assert "ops" not in containers.BOOTSTRAP_LOGIN and "ssh-ed25519" not in containers.BOOTSTRAP_LOGIN


@pytest.mark.parametrize("user", [None, "root", "a b", "x;reboot", "-rf", "Ops", 5])
def test_linux_hosts_need_an_administrator_login(tmp_path, user):
    inv = write_inventory(tmp_path, {"a1": {"ansible_host": "10.9.0.5", "lab_container": NODE}})
    settings = inv / "group_vars" / "all" / "lab.yml"
    data = yaml.safe_load(settings.read_text())
    data.pop("ansible_user")
    if user is not None:
        data["ansible_user"] = user
    settings.write_text(yaml.safe_dump(data))
    with pytest.raises(LabError, match=r"ansible_user|not as root"):
        topology.load_lab(tmp_path)


def test_real_lab_logs_in_as_an_administrator_of_the_model():
    topo = topology.load_lab(ROOT)
    admins = yaml.safe_load((ROOT / "inventory/lab/group_vars/all/admins.yml").read_text())["voip_admins"]
    present = {a["name"] for a in admins if a.get("state", "present") == "present"}
    assert {h.login for h in topo.hosts if h.systemd} <= present


def test_systemd_host_mounts_keys_and_runs_init(topo):
    args = containers.run_args(topo, topo.hosts[0], "img")
    assert "--systemd=always" in args and args[-1] == "img"
    # A reboot ends the container's PID 1: the server comes back as a real one would.
    assert "--restart=always" in args
    assert not any("/root/" in a for a in args), "root gets no key: the lab logs in as an administrator"
    assert args[args.index("--ip") + 1] == "10.9.0.5"
    # A restarted container keeps its MAC address, as a server does.
    assert args[args.index("--mac-address") + 1] == "02:00:0a:09:00:05"


def test_every_lab_host_has_its_own_mac_address():
    topo = topology.load_lab(ROOT)
    macs = [containers.mac_address(h.address) for h in topo.hosts]
    assert len(set(macs)) == len(macs) == len(topo.hosts)
    assert all(int(m.split(":")[0], 16) & 0b11 == 0b10 for m in macs), "locally administered, unicast"


def test_missing_podman_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(LabError, match="podman is not installed"):
        Podman()


def test_run_logs_are_kept_private_and_pruned(tmp_path):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    paths = [
        lab.keep_run_log(tmp_path, start + timedelta(seconds=i), "playbooks/site.yml", f"run {i}\n", keep=3)
        for i in range(5)
    ]
    kept = sorted(tmp_path.glob("*.log"))
    assert kept == paths[2:]
    assert kept[-1].read_text() == "run 4\n" and kept[-1].name.endswith("-site.log")
    assert kept[-1].stat().st_mode & 0o777 == 0o600


def test_up_recreates_a_host_that_never_answers(topo, monkeypatch):
    """A container podman calls running but whose sshd is gone is recreated once, then must answer."""
    host = topo.hosts[0]
    name = host.container(topo.prefix)
    args = containers.run_args(topo, host, "img:1")
    running = {"Names": [name], "State": "running", "Labels": {containers.HOST_LABEL: "a1", containers.SPEC_LABEL: containers.spec_hash(args, "id1")}}  # fmt: skip
    podman = FakePodman()
    monkeypatch.setattr(images, "load_recipes", lambda d: {"node": type("R", (), {"ref": "img:1"})()})
    monkeypatch.setattr(images, "ensure_images", lambda *a, **k: {"node": "id1"})
    monkeypatch.setattr(keys, "ensure_keys", lambda lab_: None)
    monkeypatch.setattr(containers, "ensure_network", lambda podman_, lab_: "exists")
    monkeypatch.setattr(containers, "lab_containers", lambda p: {"a1": running})
    answers = iter([({}, ["a1"]), ({"a1": "SSH-2.0"}, [])])
    monkeypatch.setattr(readiness, "poll_ready", lambda hosts, timeout: next(answers))
    rows = lab.up(topo, podman)
    assert (name, "recreated (no SSH answer although it was reported running)") in rows
    # Every Linux host gets its first administrator on every `lab up` (idempotent), a recreated one again.
    assert [c[0] for c in podman.calls] == ["exec", "rm", "run", "exec"]


def test_up_recreates_a_silent_device_without_an_administrator(topo, monkeypatch):
    """A network-device simulator that answers late is recreated; it has no Linux accounts to create
    (a `voipctl drill restore gw1` failed with `useradd: invalid user name ''` when it did)."""
    host = topo.hosts[0]
    host.systemd, host.login = False, ""
    podman = FakePodman()
    monkeypatch.setattr(images, "load_recipes", lambda d: {"node": type("R", (), {"ref": "img:1"})()})
    monkeypatch.setattr(images, "ensure_images", lambda *a, **k: {"node": "id1"})
    monkeypatch.setattr(keys, "ensure_keys", lambda lab_: None)
    monkeypatch.setattr(containers, "ensure_network", lambda podman_, lab_: "exists")
    monkeypatch.setattr(containers, "lab_containers", lambda p: {})
    answers = iter([({}, ["a1"]), ({"a1": "SSH-2.0"}, [])])
    monkeypatch.setattr(readiness, "poll_ready", lambda hosts, timeout: next(answers))
    lab.up(topo, podman)
    assert [c[0] for c in podman.calls] == ["run", "rm", "run"]
