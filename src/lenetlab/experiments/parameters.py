"""P2: shapes, parameters, multiply-adds and connections of the document's LeNet-5."""

from __future__ import annotations

from dataclasses import dataclass

from lenetlab.accounting import LayerAccount, account
from lenetlab.models import build_model, input_shape


@dataclass
class ParameterResult:
    layers: dict[str, list[LayerAccount]]  # model name -> one row per layer

    def total(self, model: str, column: str = "params") -> int:
        return sum(getattr(r, column) for r in self.layers[model])


def run(models: tuple[str, ...] = ("lenet5", "lenet5-full")) -> ParameterResult:
    return ParameterResult({m: account(build_model(m), input_shape(m)) for m in models})
