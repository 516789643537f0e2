"""Connection strings as libpq reads them: how to show one, and every form its password can take.

A password may hold anything: a raw space or tab, a second ``@``, ``:``, ``/``, ``#``, ``?``, quotes,
percent-encoding. Each of these moves the place where a pattern over the text thinks the password ends,
so a regex both prints the rest and fails to scrub it. So the string is parsed by libpq itself
(``psycopg.conninfo``), which says what the driver will send, and *readings* add what a person (or
``urllib``) meant where the two disagree: to libpq ``postgresql://u:Two@AtS3cret@host/db`` is the
password ``Two`` on the host ``AtS3cret@host``, so the rest of the intended password sits in another field
and in libpq's error messages.

- ``display_url`` renders the parsed fields with the password left out (``***`` only marks that one is
  set), and any other field holding a form of the password as ``***`` too. A string libpq cannot parse
  is never shown: only its scheme and the fact that it does not parse.
- ``secret_forms`` lists every string in which the password could reach a message or a log: as parsed,
  as each reading found it in the text, percent-encoded (``quote`` and ``quote_plus``), JSON- and
  libpq-escaped, and the fragments a reader splitting at ``@``, ``:``, ``/``, whitespace and the like
  would print on their own. It covers ``sslpassword`` (the client key's passphrase) and, when the string
  has no password of its own, ``PGPASSWORD`` (what libpq sends then).
- ``scrub`` replaces those forms in free text (driver and server messages, logs).

Short forms: a form of ``MIN_ANYWHERE`` (3) characters or more is replaced wherever it occurs. A shorter
one is replaced only where it stands alone (not inside a longer word): one or two characters occur by
chance in almost any text, so replacing them everywhere would garble every message while hiding nothing
(such a password falls to guessing in moments anyway). Displays do not depend on this rule: they never
contain the password field at any length.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, quote_plus, unquote, unquote_plus

HIDDEN = "***"
MIN_ANYWHERE = 3
"""Forms at least this long are scrubbed anywhere (and registered with ``::add-mask::``); shorter ones only
as a whole token."""

PASSWORD_KEYS = frozenset({"password", "sslpassword"})
URI_SCHEMES = ("postgresql://", "postgres://")
"""What libpq reads as a URI (it compares the prefix case-sensitively)."""

_FRAGMENT_SEPARATORS = re.compile(r"[\s@:/?#&=,;'\"\\]+")
"""Where a reader of a URL, a key=value string or a log line would cut a password into pieces."""
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,30}")
_KEYWORD_PASSWORD = re.compile(r"(?<![A-Za-z_])(?:ssl)?password\s*=\s*")


def display_url(conninfo: str) -> str:
    """``conninfo`` for messages and documents: its parsed fields without any password.

    The form follows the input (a URI stays a URI, ``key=value`` stays ``key=value``) so that people
    recognise their setting; the text is rebuilt from libpq's fields, never edited.
    """
    params = _parse(conninfo)
    if params is None:
        return _unparsable(conninfo)
    hide = _matcher(conninfo, _pgpassword(os.environ))
    shown: dict[str, str] = {}
    for key, value in params.items():
        if key in PASSWORD_KEYS:
            if value:
                shown[key] = HIDDEN
        elif key in {"host", "hostaddr", "port"}:
            shown[key] = ",".join(_hidden(part, hide) for part in value.split(","))
        else:
            shown[key] = _hidden(value, hide)
    if conninfo.lstrip().startswith(URI_SCHEMES):
        return _as_uri(conninfo.lstrip().split("://", 1)[0], shown)
    from psycopg.conninfo import make_conninfo

    return make_conninfo("", **shown)


def secret_forms(conninfo: str, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every string in which a password of ``conninfo`` could appear, longest first.

    Over-inclusive on purpose: a form that is not really the password only costs a ``***`` in a message.
    """
    environ = os.environ if environ is None else environ
    return _forms(conninfo, _pgpassword(environ))


def scrub(text: str, conninfo: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every form of ``conninfo``'s password replaced by ``***``."""
    environ = os.environ if environ is None else environ
    matcher = _matcher(conninfo, _pgpassword(environ))
    return matcher.sub(HIDDEN, text) if matcher is not None else text


def uri_scheme(conninfo: str) -> str | None:
    """The scheme of a URL (``postgresql``, ``mysql``...), lower-cased; None for a ``key=value`` string or
    when the text before ``://`` is not a scheme (``password=a://b``) or holds a form of the password."""
    head, separator, _ = conninfo.strip().partition("://")
    if not separator or not _SCHEME.fullmatch(head):
        return None
    return head.lower() if _hidden(head, _matcher(conninfo, _pgpassword(os.environ))) == head else None


def _parse(conninfo: str) -> dict[str, str] | None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return None
    return {key: str(value) for key, value in params.items() if value is not None}


def _pgpassword(environ: Mapping[str, str]) -> str:
    return environ.get("PGPASSWORD", "")


@lru_cache(maxsize=64)
def _forms(conninfo: str, pgpassword: str) -> tuple[str, ...]:
    """Cached, as is ``_matcher``: the Action scrubs every line it writes with them."""
    params = _parse(conninfo)
    passwords = {params.get(key, "") for key in PASSWORD_KEYS} if params is not None else set()
    head, separator, rest = conninfo.strip().partition("://")
    if separator and _SCHEME.fullmatch(head):
        passwords |= _uri_readings(rest)
    elif params is None:
        passwords |= _keyword_readings(conninfo)
    if params is None or not params.get("password"):
        passwords.add(pgpassword)  # libpq sends PGPASSWORD when the string has no password
    forms: set[str] = set()
    for password in passwords:
        for value in {password, unquote(password), unquote_plus(password)}:
            forms |= _encodings(value)
            forms |= set(_FRAGMENT_SEPARATORS.split(value))
    return tuple(sorted((form for form in forms if form.strip()), key=lambda form: (-len(form), form)))


def _uri_readings(rest: str) -> set[str]:
    """Raw (still percent-encoded) passwords that libpq, ``urllib`` or a person would read in a URI.

    libpq ends the user info at the first ``@`` before any ``/``; ``urllib`` at the last ``@`` before the
    first ``/``, ``?`` or ``#``; a person at the last ``@`` before the query (``u:p/q@host``). A
    ``password=`` query parameter is read up to the next ``&`` and, in case that ``&`` was meant, to the end.
    """
    readings: set[str] = set()
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    before_query = rest.split("?", 1)[0]
    for userinfo in (
        authority.partition("@")[0] if "@" in authority else "",
        authority.rpartition("@")[0],
        before_query.rpartition("@")[0],
    ):
        if ":" in userinfo:
            readings.add(userinfo.partition(":")[2])
    pairs = rest.partition("?")[2].split("&")
    for index, pair in enumerate(pairs):
        key, _, value = pair.partition("=")
        if unquote(key) in PASSWORD_KEYS:
            # An unencoded & ends the value for libpq, which then quotes the rest as a bad parameter.
            readings |= {value, "&".join([value, *pairs[index + 1 :]])}
    return readings


def _keyword_readings(conninfo: str) -> set[str]:
    """For a ``key=value`` string libpq rejected: everything after ``password=`` may be the password
    (``password=a b`` is rejected with ``missing "=" after "b"``)."""
    readings: set[str] = set()
    for match in _KEYWORD_PASSWORD.finditer(conninfo):
        remainder = conninfo[match.end() :]
        readings |= {remainder, remainder.strip("'"), *remainder.split(maxsplit=1)[:1]}
    return readings


def _encodings(value: str) -> set[str]:
    if not value:
        return set()
    return {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        value.replace("\\", "\\\\").replace("'", "\\'"),  # inside libpq's quoted key=value values
    }


@lru_cache(maxsize=64)
def _matcher(conninfo: str, pgpassword: str) -> re.Pattern[str] | None:
    """One pattern for all forms, longest first, so that a form inside a longer one is never half-replaced."""
    alternatives = [
        re.escape(form) if len(form) >= MIN_ANYWHERE else rf"(?<![^\W_]){re.escape(form)}(?![^\W_])"
        for form in _forms(conninfo, pgpassword)
    ]
    return re.compile("|".join(alternatives)) if alternatives else None


def _hidden(value: str, matcher: re.Pattern[str] | None) -> str:
    return HIDDEN if matcher is not None and matcher.search(value) else value


def _as_uri(scheme: str, shown: Mapping[str, str]) -> str:
    fields = dict(shown)
    user, password = fields.pop("user", ""), fields.pop("password", "")
    userinfo = quote(user, safe="*") + (f":{password}" if password else "")
    netloc = _netloc(fields)
    path = f"/{quote(fields.pop('dbname'), safe='*')}" if "dbname" in fields else ""
    query = "&".join(f"{key}={quote(value, safe='*/,:')}" for key, value in fields.items())
    return (
        f"{scheme.lower()}://{userinfo}{'@' if userinfo else ''}{netloc}{path or ('/' if query else '')}"
        f"{'?' + query if query else ''}"
    )


def _netloc(fields: dict[str, str]) -> str:
    """``host:port`` pairs for network hosts; anything else (a socket directory, an uneven port list)
    stays in ``fields`` and is shown as a query parameter, as libpq accepts it."""
    hosts = fields.get("host", "").split(",") if fields.get("host") else []
    ports = fields.get("port", "").split(",") if fields.get("port") else []
    if not hosts or any(host.startswith(("/", "@")) or not host for host in hosts):
        return ""
    if len(ports) == 1:
        ports *= len(hosts)
    if ports and len(ports) != len(hosts):
        return ""
    fields.pop("host")
    fields.pop("port", None)
    pairs = zip(hosts, ports or [""] * len(hosts), strict=True)
    return ",".join(
        (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "") for host, port in pairs
    )


def _unparsable(conninfo: str) -> str:
    """Nothing of a string libpq cannot parse but its scheme: where it fails says nothing of where a
    password in it ends."""
    scheme = uri_scheme(conninfo)
    if scheme is not None:
        return f"{scheme}://(a URL libpq cannot parse)"
    return "(a connection string libpq cannot parse)"
