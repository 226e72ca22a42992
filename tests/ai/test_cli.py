"""`workbench translate` and `workbench explain`."""

import io
import json
import sys

from engine.cli import main


def run(argv, stdin=None, capsys=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_translate_prints_dsl(capsys, monkeypatch):
    code, out, err = run(["translate", "Validate the order, then ship it."], capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and out == "start->validate_order;\nvalidate_order->ship_order;\nship_order->end;\n"


def test_translate_json_from_stdin(capsys, monkeypatch):
    code, out, err = run(
        ["translate", "-", "--json"],
        stdin="If the amount is over 500, ask a manager.",
        capsys=capsys,
        monkeypatch=monkeypatch,
    )
    data = json.loads(out)
    assert code == 0 and data["provider"] == "offline" and data["valid"] is True
    assert "amount>500" in data["dsl"] and data["explanation"] and isinstance(data["suggestions"], list)
    assert set(data) >= {"dsl", "explanation", "suggestions", "bindings", "provider", "warnings", "valid"}


def test_translate_with_a_server_and_fallback_warning(capsys, monkeypatch, llm_server, store):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("WORKBENCH_LLM_MAX_RETRIES", "0")
    llm_server.reply(status=500)
    code, out, err = run(["translate", "Validate the order, then ship it."], capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and "validate_order" in out
    assert "warning: AI model unavailable for translate (HTTP 500" in err


def test_explain_file(tmp_path, capsys, monkeypatch):
    f = tmp_path / "wf.toml"
    f.write_text(
        'name = "Orders"\ndsl = "start->check_stock;check_stock->ship:in_stock==True;check_stock->end;ship->end;"\n'
    )
    code, out, err = run(["explain", str(f)], capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and out.startswith("Orders\n") and "when in stock is true → ship" in out


def test_explain_file_says_when_an_unanswered_approval_takes_its_error_path(tmp_path, capsys, monkeypatch):
    f = tmp_path / "wf.toml"
    f.write_text(
        'name = "Purchase"\n'
        'dsl = "start->approve;approve->order:approved==True;approve->end;approve->escalate:@error;'
        'order->end;escalate->end;"\n'
        '[states.approve]\naction = "approval"\nmessage = "Approve?"\ntimeout_s = 172800\n'
    )
    code, out, err = run(["explain", str(f)], capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert "If nobody answers within 2 d, it goes to escalate." in out
    assert "If this step fails" not in out


def test_explain_invalid_file(tmp_path, capsys, monkeypatch):
    f = tmp_path / "bad.dsl"
    f.write_text("start->")
    code, out, err = run(["explain", str(f)], capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1 and "error" in err


def test_empty_description_is_a_usage_error(capsys, monkeypatch):
    code, out, err = run(["translate", "-"], stdin="  ", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 2 and "empty" in err
