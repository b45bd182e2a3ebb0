"""Real servers on loopback for the test suite: nothing in the tests is mocked but the network's far end.

- `servers.dns`: an authoritative DNS server (UDP and TCP) serving the zone files in `tests/zones/`, with
  faults (drop, SERVFAIL, REFUSED, truncation, delay) set per name.
- `servers.smtp`: a scripted SMTP server (every reply configurable, presets that speak like Postfix, NetEase,
  Gmail and postgrey) and `FaultyServer`, the misbehaving peers (tarpit, garbage, TLS failures ...).
- `servers.certs`: a throw-away PKI made at test time (CA, leaf, self-signed, expired) with TLSA digests.
- `servers.base`: the background-thread event loop they all run on, so sync and async tests can use them.

`tests/conftest.py` puts `tests/` on the import path: import them as `from servers.dns import DnsServer`.
"""
