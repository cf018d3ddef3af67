"""Desk phones that fail over by themselves: each vendor's settings for a primary and a backup call server.

A site's call servers share its SIP domain and their registrations (DMQ), so
the same account works on either. A phone whose site has a backup names the
primary and the backup in its vendor's own redundancy settings, with the
timers below: it moves to the backup by itself within seconds when the
primary stops answering, and comes back to the primary once it answers
again. No DNS is needed (the model names servers by address).

Functions here give (setting, value) pairs with raw values; the templates
(voip_phone_templates) clean and escape every value as they write it. A
phone with one call server gets none of this: its file stays as it was.
"""

from __future__ import annotations

# -- Timers: why these values -------------------------------------------------

PHONE_SERVERS = 2
"""Call servers a phone names: a primary and one backup. Every vendor's line
has room for two (Yealink outbound_proxy.1-2, Polycom reg.1.server.1-2, Cisco
the alternate proxy, Snom one failover identity); a site's third server still
shares registrations and serves calls, its phones just do not name it."""

REGISTER_EXPIRES = 60
"""Registration expiry (s) asked for: the call servers' registrar minimum
(min_expires 60). A phone that only learns of a dead server when it
re-registers (Snom) learns it within a minute, and a returning primary sees
its phones again within a minute. One REGISTER per phone every ~50 s is
little work for Kamailio."""

REREGISTER_MARGIN = 20
"""Seconds before expiry a Polycom renews (expires.overlap). Its default, 60,
equals the expiry; 20 s leave a failed renewal time to move to the backup
before the binding lapses."""

FAILOVER_RETRIES = 2
"""Retransmissions of an unanswered request before the phone tries the next
server (Yealink retry_counts, Polycom retryMaxCount; vendor default 3): two
lost datagrams in a row are tolerated, a third means the server is gone."""

RETRY_INTERVAL_MS = 1000
"""Polycom's wait between those retransmissions (retryTimeOut, ms): the phone
moves on ~3 s after the first unanswered send instead of RFC 3261's 32 s."""

TRANSACTION_TIMEOUT = 4
"""Cisco's SIP Timer B and F (s; default 16): a request with no answer at all
goes to the alternate proxy after 4 s (the request and 3 retransmissions at
T1 0.5 s). A live Kamailio answers at once (100 Trying, 401), so a slow callee
never trips it."""

FAILBACK_SECONDS = 60
"""How long a phone stays on the backup before trying the primary again (the
vendors' fallback interval or failback timeout; 60 s is Yealink's and
Polycom's shortest): a returning primary gets its phones back within a
minute, and a flapping one is not tried again on every call."""


def servers(account):
    """(address, port) of the call servers an account names, the primary first, at most PHONE_SERVERS.

    The account's ``servers`` when given, else its one ``registrar`` on
    ``port`` (entries made before a site could have several).
    """
    listed = account.get("servers") or [{"address": account["registrar"], "port": account.get("port")}]
    return [(server["address"], server.get("port", 5060)) for server in listed[:PHONE_SERVERS]]


def _host_port(address, port):
    return f"{address}:{port}"


def yealink(proxies):
    """Account 1's registration timers and outbound proxies (``account.1.`` keys).

    Registration at the SIP domain through the proxies: short expiry,
    FAILOVER_RETRIES retransmissions before the next proxy, register there
    first (a registration made just before a crash may not have reached the
    backup), back to the primary after FAILBACK_SECONDS (failback mode 3,
    duration; the outbound proxies inherit sip_server.1's mode, older
    firmware uses outbound_proxy_fallback_interval).
    """
    pairs = [
        ("account.1.sip_server.1.expires", REGISTER_EXPIRES),
        ("account.1.sip_server.1.retry_counts", FAILOVER_RETRIES),
        ("account.1.sip_server.1.register_on_enable", 1),
        ("account.1.sip_server.1.failback_mode", 3),
        ("account.1.sip_server.1.failback_timeout", FAILBACK_SECONDS),
        ("account.1.outbound_proxy_enable", 1),
    ]
    for n, (address, port) in enumerate(proxies, start=1):
        pairs += [
            (f"account.1.outbound_proxy.{n}.address", address),
            (f"account.1.outbound_proxy.{n}.port", port),
        ]
    return [*pairs, ("account.1.outbound_proxy_fallback_interval", FAILBACK_SECONDS)]


def polycom_address(account):
    """reg.1.address: user@domain, since the servers are then named by address (the AOR stays in the domain)."""
    return f"{account['username']}@{account['domain']}"


def polycom(proxies):
    """Registration 1's servers, each a call server, with its timers; the outbound proxy cleared.

    Polycom has one outbound proxy per registration and fails over between
    its reg.1.server.N: those are the call servers. Failing over, the phone
    registers at the next one and drops the dead one's registration; it
    tries the primary again after FAILBACK_SECONDS.
    """
    pairs = []
    for n, (address, port) in enumerate(proxies, start=1):
        prefix = f"reg.1.server.{n}"
        pairs += [
            (f"{prefix}.address", address),
            (f"{prefix}.port", port),
            (f"{prefix}.expires", REGISTER_EXPIRES),
            (f"{prefix}.expires.overlap", REREGISTER_MARGIN),
            (f"{prefix}.retryTimeOut", RETRY_INTERVAL_MS),
            (f"{prefix}.retryMaxCount", FAILOVER_RETRIES),
            (f"{prefix}.failOver.reRegisterOn", 1),
            (f"{prefix}.failOver.failRegistrationOn", 1),
            (f"{prefix}.failOver.failBack.mode", "duration"),
            (f"{prefix}.failOver.failBack.timeout", FAILBACK_SECONDS),
        ]
    return [*pairs, ("reg.1.outboundProxy.address", ""), ("reg.1.outboundProxy.port", "")]


def cisco(account, proxies):
    """Line 1's proxies: the primary as outbound proxy, the backup as alternate, dual registration, timers.

    Cisco's failover without DNS SRV (the model has no SRV records, so
    Proxy_Redundancy_Method does not apply): the phone registers through
    both (Dual_Registration), sends new requests through the primary and,
    when one goes unanswered for TRANSACTION_TIMEOUT, through the
    alternate; it goes back to the primary after FAILBACK_SECONDS
    (Proxy_Fallback_Intvl). In-dialog requests keep the outbound proxy.
    """
    return [
        ("Outbound_Proxy_1_", _host_port(*proxies[0])),
        ("Use_Outbound_Proxy_1_", "Yes"),
        ("Use_OB_Proxy_In_Dialog_1_", "Yes"),
        ("Alternate_Proxy_1_", account["domain"]),
        ("Alternate_Outbound_Proxy_1_", _host_port(*proxies[1])),
        ("Dual_Registration_1_", "Yes"),
        ("Register_Expires_1_", REGISTER_EXPIRES),
        ("Proxy_Fallback_Intvl_1_", FAILBACK_SECONDS),
        ("SIP_Timer_B", TRANSACTION_TIMEOUT),
        ("SIP_Timer_F", TRANSACTION_TIMEOUT),
    ]


def snom(account, display, label, proxies):
    """Identity 1 through the primary, identity 2 (the same account) through the backup as its failover.

    Snom fails over between identities (user_failover_identity), not
    proxies. It learns that a server is gone when a registration fails,
    hence the short expiry; a failed registration is tried again after
    FAILBACK_SECONDS (retry_after_failed_register, default 300), and the
    phone goes back to identity 1 as soon as that registers again.
    """
    return [
        ("user_outbound1", _host_port(*proxies[0])),
        ("user_expiry1", REGISTER_EXPIRES),
        ("user_failover_identity1", 2),
        ("user_active2", "on"),
        ("user_realname2", display),
        ("user_idle_text2", label),
        ("user_name2", account["username"]),
        ("user_pname2", account["auth_name"]),
        ("user_pass2", account["password"]),
        ("user_host2", account["domain"]),
        ("user_outbound2", _host_port(*proxies[1])),
        ("user_expiry2", REGISTER_EXPIRES),
        ("retry_after_failed_register", FAILBACK_SECONDS),
    ]
