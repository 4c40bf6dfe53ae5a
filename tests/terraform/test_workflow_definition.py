"""The checkout saga's ASL, rendered as Terraform's templatefile() renders it, passes statelint."""

from __future__ import annotations

import re

from statelint.config import Config
from statelint.linter import Linter

from tools import hcl

TEMPLATE = hcl.REPO_ROOT / "terraform" / "workflows" / "checkout.asl.json"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def test_checkout_definition_passes_statelint() -> None:
    text = TEMPLATE.read_text()
    assert set(PLACEHOLDER.findall(text)) == {"order_steps_arn"}
    rendered = PLACEHOLDER.sub("arn:aws:lambda:us-east-1:123456789012:function:shop-twin-order-steps", text)
    assert Linter.validate(rendered, Config([], False, False)) == []
    broken = rendered.replace('"Next": "ConfirmOrder"', '"Next": "NoSuchState"')
    assert Linter.validate(broken, Config([], False, False)), "statelint must catch a dangling Next"
