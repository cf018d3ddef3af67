"""Documentation shared by the network device modules (library/netdev_*.py over module_utils/voip_netdev).

Used with ``extends_documentation_fragment: [voip_netdev]``.
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
    support: full
  diff_mode:
    support: full
notes:
  - Runs on the controller (C(ansible_connection=local)); needs netmiko there.
"""
