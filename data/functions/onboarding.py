"""Employee onboarding: accounts, equipment and payroll in parallel; the manager approves the access level."""

from __future__ import annotations

import re

from gallery_common import find, keep_message


def load_employee(context: dict) -> dict:
    """The new hire from data/samples/employees.csv."""
    return {"employee": find("employees.csv", "employee_id", context["employee_id"])}


def _login(name: str) -> str:
    return ".".join(re.findall(r"[a-z]+", name.lower()))


def create_accounts(context: dict, domain: str = "example.com") -> dict:
    """Directory account and e-mail address."""
    login = _login(context["employee"]["name"])
    return {"login": login, "email": f"{login}@{domain}"}


def order_laptop(context: dict) -> dict:
    """Engineers get a workstation, everyone else a standard laptop."""
    role = context["employee"]["role"].lower()
    return {"laptop": "workstation-16" if "engineer" in role else "laptop-14"}


def enroll_payroll(context: dict) -> dict:
    """Payroll record from the start date."""
    e = context["employee"]
    return {"payroll_id": f"PR-{e['employee_id']}", "payroll_start": context.get("start_date") or e["start_date"]}


def book_training(context: dict) -> dict:
    """First-week training for the department."""
    return {"training": f"{context['employee']['department']} onboarding week"}


def grant_access(context: dict, level: str = "full") -> dict:
    """Access to the department's systems at the approved level."""
    return {"access": level, "systems": [context["employee"]["department"].lower(), "wiki", "chat"]}


def send_welcome(context: dict) -> dict:
    """Welcome e-mail with everything set up."""
    e = context["employee"]
    return keep_message(
        context, f"Welcome {e['name']}: login {context['login']}, {context['laptop']}, access {context.get('access')}"
    )
