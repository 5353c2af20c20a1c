"""RFC 9110 §11.6.1 / RFC 6750 §3 WWW-Authenticate parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit_mcp_cli.challenge import ChallengeParseError, find_bearer, parse_www_authenticate
from authkit_mcp_cli.errors import ProtocolError


def test_the_guides_header_as_printed():
    # The integration guide folds it over three lines; servers send it on one.
    header = 'Bearer error="unauthorized", \n                  error_description="Authorization needed",\n                  resource_metadata="https://atomcp.kooshapari.com/.well-known/oauth-protected-resource"'
    bearer = find_bearer(parse_www_authenticate(" ".join(header.split())))
    assert bearer.params == {
        "error": "unauthorized",
        "error_description": "Authorization needed",
        "resource_metadata": "https://atomcp.kooshapari.com/.well-known/oauth-protected-resource",
    }


def test_the_sdk_header():
    value = 'Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/api/mcp"'
    bearer = find_bearer(parse_www_authenticate(value))
    assert bearer.get("error") == "invalid_token"
    assert bearer.get("RESOURCE_METADATA").endswith("/api/mcp")


def test_several_challenges_commas_in_quotes_and_odd_spacing():
    value = 'Basic realm="a, b", Bearer  scope = "read write",error=invalid_token ,  resource_metadata="https://x/y?a=1,2", Negotiate abc=='
    chs = parse_www_authenticate(value)
    assert [c.scheme for c in chs] == ["Basic", "Bearer", "Negotiate"]
    assert chs[0].params == {"realm": "a, b"}
    assert chs[1].params == {"scope": "read write", "error": "invalid_token", "resource_metadata": "https://x/y?a=1,2"}
    assert chs[2].token68 == "abc=="


def test_bare_scheme_and_multiple_header_values():
    chs = parse_www_authenticate(["Bearer", 'DPoP algs="ES256"'])
    assert [c.scheme for c in chs] == ["Bearer", "DPoP"]
    assert chs[0].params == {}


def test_escaped_quotes():
    bearer = find_bearer(parse_www_authenticate(r'Bearer error_description="say \"hi\" \\ now"'))
    assert bearer.get("error_description") == 'say "hi" \\ now'


def test_duplicates_are_recorded():
    bearer = find_bearer(parse_www_authenticate('Bearer scope="a", scope="b"'))
    assert bearer.get("scope") == "a" and bearer.duplicate_params == ["scope"]


@pytest.mark.parametrize("value", ['Bearer realm="open', 'Bearer a="b", =c', '"quoted"', "Bearer a=b c"])
def test_malformed_values_raise_our_error(value):
    with pytest.raises(ChallengeParseError) as info:
        parse_www_authenticate(value)
    assert info.value.spec == "RFC 9110 §11.6.1"


def test_huge_header_is_refused():
    with pytest.raises(ChallengeParseError, match="characters long"):
        parse_www_authenticate("Bearer realm=" + "a" * 70_000)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_only_our_error(text):
    try:
        parse_www_authenticate(text)
    except ProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=5))
def test_quoted_params_round_trip(params):
    value = "Bearer " + ", ".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in params.items())
    assert find_bearer(parse_www_authenticate(value)).params == params
