"""Hypothesis strategies for what clients may send: JSON values of every awkward kind (huge and
non-finite numbers, unpaired surrogates, deep nesting, long strings, wrong types, nulls), form fields
with bytes of any kind, and Content-Type headers, rendered as the bytes a client would send."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """`st.one_of` with weights (one_of draws each distinct strategy equally often, and a strategy given
    twice counts once)."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(
        lambda strategy: strategy
    )


@dataclass(frozen=True)
class RawJson:
    """JSON text spliced in as it is: what json.dumps cannot write (5,000-digit numbers, NaN, 1e400) or
    would take long to build as values (nesting thousands deep)."""

    text: str


def _digits(count: int) -> str:
    return "9" * count


raw_json = st.one_of(
    st.integers(min_value=990, max_value=6000).map(lambda n: RawJson(_digits(n))),
    st.integers(min_value=990, max_value=1010).map(lambda n: RawJson("0." + _digits(n))),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "-0.0", "1E+2"]).map(
        RawJson
    ),
    st.integers(min_value=1, max_value=3000).map(lambda depth: RawJson("[" * depth + "]" * depth)),
    st.integers(min_value=1, max_value=3000).map(lambda depth: RawJson('{"a":' * depth + "1" + "}" * depth)),
)

_surrogate = st.characters(categories=["Cs"])
_short_text = st.text(max_size=12)
texts = weighted(
    (4, _short_text),
    # Unpaired surrogates (JSON's "\ud800"): often, since a single one used to fail the store.
    (
        1,
        st.builds(
            lambda before, surrogate, after: before + surrogate + after, _short_text, _surrogate, _short_text
        ),
    ),
    (1, st.text(st.characters() | _surrogate, max_size=8)),
    (1, st.sampled_from(["", " ", "\t\n", "\x00", "\u2028", "a,b", ",", "\r\nX-Injected: 1"])),
    (1, st.integers(min_value=0, max_value=1100).map(lambda n: "x" * n)),  # around the length limits
)
phones = st.one_of(
    st.sampled_from(["+14155552671", "(415) 555-2671", "+442079460958", "020 7946 0958", "12", "+"]),
    st.from_regex(r"\+?[0-9 ()-]{0,18}", fullmatch=True),
    st.integers(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities too: json.dumps writes them, and they must be refused
    texts,
    phones,
    raw_json,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)


def render_json(value: Any, *, ensure_ascii: bool = True) -> str:
    """`value` as JSON text, with each RawJson's text in its place."""
    raws: list[str] = []

    def placeholder(item: Any) -> str:
        if not isinstance(item, RawJson):
            raise TypeError(f"not JSON: {type(item).__name__}")
        raws.append(item.text)
        return f"\x00raw{len(raws) - 1}\x00"

    text = json.dumps(value, default=placeholder, ensure_ascii=ensure_ascii)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{index}\x00", ensure_ascii=ensure_ascii), raw, 1)
    return text


def json_bytes(value: Any, ensure_ascii: bool) -> bytes:
    # Without escaping, an unpaired surrogate becomes bytes that are not UTF-8 (as a buggy client sends).
    return render_json(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def objects_with(names: list[str], values: st.SearchStrategy[Any] = json_values) -> st.SearchStrategy[Any]:
    """JSON objects using some of `names` (a request model's fields) and any others."""
    known = st.dictionaries(st.sampled_from(names), values, max_size=len(names))
    others = weighted((2, st.just({})), (1, st.dictionaries(texts, values, max_size=3)))
    return st.builds(lambda fields, extra: {**extra, **fields}, known, others)


lead_objects = objects_with(
    ["phone", "name", "email", "tags"],
    st.one_of(
        json_values,
        phones,
        st.sampled_from(["Ada Lovelace", "ada@example.com", "Ada@Example.COM", "ada@", "a,b , ,c"]),
        st.lists(texts, max_size=4),
    ),
)

_emails = st.sampled_from(["ada@example.com", "Ada@Example.COM", "ada@exämple.com", "", None])
# Leads a form tool could send, each field of the right type but any content, and custom fields of any
# kind: most are accepted, so that what is stored gets tested too.
plausible_leads = st.builds(
    lambda known, extra: {**extra, **known},
    st.fixed_dictionaries(
        {"phone": st.sampled_from(["+14155552671", "+442079460958", "(415) 555-2671", 14155552671])},
        optional={
            "name": texts | st.none(),
            "email": weighted((2, _emails), (1, texts)),
            "tags": st.lists(texts, max_size=4) | texts,
        },
    ),
    st.dictionaries(texts, json_values, max_size=4),
)


def _form_part(data: bytes) -> str:
    return quote_from_bytes(data, safe="")


form_field_names = st.one_of(
    st.sampled_from(["phone", "name", "email", "tags", "tags[]", "utm_source"]),
    st.binary(max_size=8).map(lambda b: b.decode("latin-1")),
)
form_values = st.one_of(
    st.binary(max_size=12),  # any bytes, UTF-8 or not
    texts.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"+14155552671", b"(415) 555-2671", b"Ada", b"a,b", b""]),
)
form_bodies = st.lists(st.tuples(form_field_names, form_values), max_size=6).map(
    lambda pairs: "&".join(
        f"{_form_part(name.encode('latin-1'))}={_form_part(value)}" for name, value in pairs
    ).encode()
)

JSON_CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    'application/json; charset="UTF-8"',
    "text/plain",
    "text/json",
    "application/vnd.crm+json",
]
FORM_CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded; charset=latin-1",
]
# Python codecs that are no text encoding (bytes-to-bytes or str-to-str transforms) or are Python's own:
# a Content-Type declaring one is a 415.
NOT_CHARSETS = ("rot13", "base64", "hex", "zlib", "uu", "bz2", "quopri", "punycode", "idna", "undefined")
ODD_CONTENT_TYPES = [
    *(f"application/json; charset={codec}" for codec in NOT_CHARSETS),
    *(
        f"application/json; charset={codec}"
        for codec in ("utf-7", "utf-16", "utf-32-be", "cp1252", "klingon")
    ),
    "application/x-www-form-urlencoded; charset=rot13",
    "application/json; charset=",
    "application/json; charset=utf-8\x00",
    "application/json;;;",
    ";",
    "APPLICATION/JSON",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/xml",
    "image/png",
]
content_types = st.one_of(
    st.sampled_from(JSON_CONTENT_TYPES + FORM_CONTENT_TYPES + ODD_CONTENT_TYPES),
    st.text(max_size=40),
)


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str | None
    base64: bool  # API Gateway's isBase64Encoded (it base64-encodes bodies that are not text)

    @property
    def sent_as_base64(self) -> bool:
        """As API Gateway passes it: text bodies as they are, the others base64-encoded."""
        try:
            self.body.decode()
        except UnicodeDecodeError:
            return True
        return self.base64

    def __repr__(self) -> str:  # shrunk examples print readably
        return f"Request(body={self.body[:300]!r}, content_type={self.content_type!r}, base64={self.base64})"


# Most clients escape what is not ASCII; some send it raw (and then an unpaired surrogate is no UTF-8).
_ascii_only = weighted((3, st.just(True)), (1, st.just(False)))


def _as_json(value: Any, ascii_only: bool, content_type: str | None, b64: bool) -> Request:
    return Request(json_bytes(value, ascii_only), content_type, b64)


def requests(
    objects: st.SearchStrategy[Any], json_types: list[str | None] = JSON_CONTENT_TYPES
) -> st.SearchStrategy[Request]:
    """Requests a client could send to a route whose body is one of `objects` as JSON: mostly that, as
    JSON (under one of `json_types`); also any JSON value, form-encoded fields, any bytes at all, and any
    Content-Type."""
    as_json = st.builds(_as_json, objects, _ascii_only, st.sampled_from(json_types), st.booleans())
    any_json = st.builds(_as_json, objects | json_values, _ascii_only, content_types, st.booleans())
    as_form = st.builds(
        Request, form_bodies, st.sampled_from(FORM_CONTENT_TYPES) | content_types, st.booleans()
    )
    anything = st.builds(Request, st.binary(max_size=64), content_types, st.booleans())
    return weighted((3, as_json), (1, any_json), (1, as_form), (1, anything))
