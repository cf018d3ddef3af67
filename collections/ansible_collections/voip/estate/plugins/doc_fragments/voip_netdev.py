"""Documentation shared by the network device modules (plugins/modules/netdev_*.py over module_utils/voip_netdev).

Used with ``extends_documentation_fragment: [voip.estate.voip_netdev]``; a module whose
check or diff mode support differs says so under its own ``attributes`` (the module's
keys win over the fragment's).
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host:
    description: Address of the device (its C(ansible_host)).
    type: str
    required: true
  port:
    description: SSH port of the device.
    type: int
    default: 22
  username:
    description: Login of the device.
    type: str
    required: true
  password:
    description: Password of O(username); from the vault. Never logged or returned.
    type: str
    required: true
  enable_secret:
    description: Enable secret, when the login does not land in privileged mode.
    type: str
    default: ''
  known_hosts:
    description:
      - The known_hosts file that pins the device's SSH host key (the estate's C(voip_device_known_hosts)),
        under the name C(host) (port 22) or C([host]:port).
      - Checking is strict and uses this file only (no system or user known_hosts) and never adds a key.
        A device whose key is not pinned there, or differs from the pinned one, fails before the login
        with the expected and presented fingerprints and nothing is sent to it.
    type: path
    required: true
  device_type:
    description: netmiko device type.
    type: str
    default: cisco_ios
  timeout:
    description: Seconds to wait for the device (connect, login, each command).
    type: int
    default: 20
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
notes:
  - Runs on the controller (C(ansible_connection=local)); needs netmiko there.
"""
