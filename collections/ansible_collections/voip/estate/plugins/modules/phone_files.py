#!/usr/bin/python
"""Render the provisioning files of all desk phones in one call."""

DOCUMENTATION = r"""
module: phone_files
short_description: Bring a provisioning directory to the files of all desk phones in one call
description:
  - Renders on the host, in plain Python, the files each phone requests (Yealink C(<mac>.cfg) and
    C(y000000000000.cfg), Polycom C(<mac>.cfg) and the master C(000000000000.cfg), Cisco 3PCC
    C(<mac>.xml), Snom C(<mac>.xml)), compares them with the directory and writes only the files
    whose content, owner, group or mode differ, atomically (temporary file, then rename).
  - A per-MAC file on disk whose MAC is not in O(phones) is an orphan (a leaver's or a replaced
    phone); it gets its vendor's "unassigned" profile (no account; time, VLAN, syslog, firmware,
    display text C(unassigned)), or is removed, per O(unassigned).
  - Cisco 3PCC phones must use the profile rule C(http://SERVER/$MA.xml).
  - The result and the diff name files and changed setting names, never values; the phones are not
    echoed back (a summary is).
options:
  dest:
    description: The directory the phones fetch their files from (the web server's root for them).
    type: path
    required: true
  phones:
    description:
      - Every phone to provision, as the filter P(voip.estate.voip_phone_data#filter) gives them.
      - A list, or that list as one JSON string (what the role passes; why in
        docs/performance.md#rows-travel-as-one-json-string). Validated alike; never logged.
    type: raw
    required: true
    suboptions:
      mac:
        description: MAC address, 12 lower-case hex digits without separators.
        type: str
        required: true
      mac_colon:
        description: The MAC with colons (informative).
        type: str
      vendor:
        description: Phone vendor; decides the file name and format.
        type: str
        required: true
        choices: [cisco, polycom, snom, yealink]
      model:
        description: Model name of the estate model (recorded in the file's marker line).
        type: str
        required: true
      user:
        description: Id of the user the phone belongs to (recorded in the marker line).
        type: str
      site:
        description: The user's site (recorded in the marker line; used once the phone is unassigned).
        type: str
      display_name:
        description: Name shown for the line.
        type: str
      extension:
        description: The user's extension (line label).
        type: str
        required: true
      login_rotation:
        description:
          - Generation of the phone's provisioning login (the device's C(password_rotation)); raising it
            changes this phone's password and its file's marker line, nothing else. 0 is the login
            phones had before the counter existed.
        type: int
        default: 0
      firmware:
        description: Firmware the phone must run.
        type: dict
        suboptions:
          version:
            description: Firmware version.
            type: str
          url:
            description: Where the phone downloads it.
            type: str
      account:
        description: The SIP account of line 1.
        type: dict
        required: true
        suboptions:
          username:
            description: SIP user name (the extension).
            type: str
            required: true
          auth_name:
            description: Digest authentication name.
            type: str
          password:
            description: SIP password (never logged, returned or shown in a diff).
            type: str
            required: true
          domain:
            description: SIP domain of the user's call server.
            type: str
            required: true
          registrar:
            description: Address of the call server (outbound proxy); the primary when O(phones[].account.servers) has several.
            type: str
            required: true
          port:
            description: The registrar's SIP port (the phone registers there).
            type: int
            default: 5060
          servers:
            description:
              - The call servers of the user's site, the primary (the registrar) first, then the backups. With
                two or more, the file names the primary and the first backup in the vendor's failover settings,
                with short registration and failover timers; with one, or none given, the file names the
                registrar alone as before.
            type: list
            elements: dict
            suboptions:
              address:
                description: Address of the call server.
                type: str
                required: true
              port:
                description: Its SIP port.
                type: int
                default: 5060
      timezone:
        description: IANA time zone of the site.
        type: str
      utc_offset_minutes:
        description: Standard offset of the time zone from UTC, in minutes.
        type: int
        default: 0
      ntp_servers:
        description: NTP servers of the site.
        type: list
        elements: str
        default: []
      voice_vlan:
        description: Voice VLAN of the site (none when not set).
        type: int
      syslog_server:
        description: Where phones send syslog.
        type: str
      line_keys:
        description: BLF keys after line 1.
        type: list
        elements: dict
        default: []
        suboptions:
          type:
            description: Key type.
            type: str
            default: blf
            choices: [blf]
          extension:
            description: Extension to watch.
            type: str
            required: true
          label:
            description: Key label.
            type: str
  common:
    description:
      - Settings of the unassigned profile, as the filter P(voip.estate.voip_phone_common#filter) gives
        them - default C(timezone), C(utc_offset_minutes), C(ntp_servers), C(voice_vlan),
        C(syslog_server); per site under C(sites); firmware per model under C(firmware).
    type: dict
    default: {}
  owner:
    description: Owner of the files (name or uid); unchanged when not set.
    type: str
  group:
    description: Group of the files (name or gid); unchanged when not set.
    type: str
  mode:
    description: Mode of the files, octal; world-writable modes are refused.
    type: raw
    default: "0640"
  unassigned:
    description: What happens to the file of a MAC that is no longer in O(phones).
    type: str
    default: profile
    choices: [profile, remove]
  http_auth_file:
    description:
      - An htpasswd file (for nginx's C(auth_basic_user_file)) to keep with one login per MAC served
        (assigned, or given the unassigned profile); user name the bare MAC, password derived from
        O(http_auth_secret) and the MAC. Written with the files' owner, group and mode; not set, none.
      - The web server then serves a per-MAC file only to the login of that MAC.
    type: path
  http_auth_secret:
    description: Secret the device passwords derive from (from the vault). Required with O(http_auth_file).
    type: str
  today:
    description:
      - The run's date (YYYY-MM-DD, the controller's). An unassigned profile then records in its marker
        the day its MAC was first found gone from O(phones) (a later or unreadable day is reset to
        O(today)), and keeps the login generation its last file named.
    type: str
  retired_grace_days:
    description:
      - Days a MAC no longer in O(phones) keeps its unassigned profile and its login, counted from the
        day its marker records; on that day plus O(retired_grace_days) its file and its login go
        (0 at once). Not set, they stay. Needs O(today).
    type: int
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: File names and the names of changed settings, never their values.
author:
  - voip-estate authors (@voip-estate)
"""

EXAMPLES = r"""
- name: Render the provisioning files of all phones
  voip.estate.phone_files:
    dest: /srv/provisioning
    phones: "{{ inventory_hostname | voip.estate.voip_phone_data(hostvars, groups, vault_voip_sip_master_secret, prov_url, as_json=true) }}"
    common: "{{ inventory_hostname | voip.estate.voip_phone_common(hostvars, prov_url) }}"
    owner: root
    group: www-data
    mode: "0640"
    http_auth_file: /etc/nginx/provisioning.htpasswd
    http_auth_secret: "{{ vault_voip_sip_master_secret }}"
    today: "2026-12-04"
    retired_grace_days: 30
"""

RETURN = r"""
counts:
  description:
    - Files written, unchanged, given the unassigned profile, removed (C(expired) of them because their
      MAC's grace had passed), and the total managed.
  type: dict
  returned: always
  sample: {written: 1, unchanged: 9999, unassigned: 1, removed: 0, expired: 0, total: 10003, http_logins: 10001}
changes:
  description:
    - The files concerned (C(written) with the names of changed settings), cut to 50 names per list
      (C(truncated) tells); C(skipped) lists orphans of unknown vendor left alone.
  type: dict
  returned: always
"""

from ansible_collections.voip.estate.plugins.module_utils.voip_phone_files import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
