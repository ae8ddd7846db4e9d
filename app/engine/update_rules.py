"""Update rules: what one `optimizer.step()` does to each element, written out with its numbers.

Each rule takes a parameter, its gradient, the optimizer's `state[p]` and the param_group as they
were before `step()`, and returns the value every element will have after it; the `Writer` it is
given records the rule for one element with that element's live numbers. A learner compares the prediction with what
`step()` actually produced; they must agree to float32 precision, so each rule here repeats
torch.optim 2.13's single-tensor algorithm op for op, in the same order and the parameter's dtype
(`exp_avg.lerp(g, 1 − β₁)`, not `β₁·m + (1 − β₁)·g`; `addcdiv` with the step size folded in).
Nothing passed in is modified: every update is out of place.

Symbols follow the torch.optim docs: γ learning rate, λ weight decay, μ momentum, τ dampening,
β₁ β₂ α averaging coefficients, ε, η Adagrad's lr_decay, t the step count. State: b momentum_buffer,
m exp_avg, v exp_avg_sq or square_avg, v̂ max_exp_avg_sq, ḡ grad_avg, s Adagrad's sum.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

State = Mapping[str, Tensor | float | None]


@dataclass(frozen=True)
class LedgerLine:
    """One line of the rule: `symbolic` in symbols, `numeric` with the element's numbers."""

    symbolic: str
    numeric: str
    value: float


def _number(x: float) -> str:
    """An operand as the page writes numbers: "−" for every minus sign, "NaN", "Inf", exponents
    without padding ("1e−6"). Parenthesised when negative, so that "0.9·(−0.2)" and "(−0.2)²" read
    unambiguously. Whole numbers (the step count t) in full: "1234567", not "1.23457e+06"."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "(−Inf)"
    text = f"{x:.0f}" if x.is_integer() and abs(x) < 1e15 else f"{x:.6g}"
    text = re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m[1] == "-" else "") + m[2], text)
    text = text.replace("-", "−")
    return f"({text})" if text.startswith("−") else text


class Writer:
    """Collects the lines of one element; with no element selected it writes nothing."""

    def __init__(self, element: int | None) -> None:
        self.element = element
        self.lines: list[LedgerLine] = []

    def __call__(
        self, symbolic: str, numeric: str, *operands: Tensor | float, value: Tensor | float
    ) -> None:
        """Add a line; each `{}` in `numeric` is filled with the element's share of an operand."""
        if self.element is None:
            return
        numbers = (_number(self._at(operand)) for operand in operands)
        self.lines.append(LedgerLine(symbolic, numeric.format(*numbers), self._at(value)))

    def _at(self, x: Tensor | float) -> float:
        # note: a device-to-host sync per number, paid only for the selected element
        return float(x.reshape(-1)[self.element]) if isinstance(x, Tensor) else float(x)


def _tensor(state: State, key: str, like: Tensor, fill: float = 0.0) -> Tensor:
    """state[key], or the value torch initialises it to before the first step."""
    value = state.get(key)
    if isinstance(value, Tensor):
        return value
    return torch.full_like(like, fill)


def _steps_taken(state: State) -> float:
    value = state.get("step")
    return 0.0 if value is None else float(value)


def _gradient(group: Mapping[str, Any], grad: Tensor, write: Writer) -> Tensor:
    if not group.get("maximize", False):
        return grad
    negated = -grad
    write("g ← −g", "g ← −{}", grad, value=negated)
    return negated


def _coupled_weight_decay(
    group: Mapping[str, Any], value: Tensor, grad: Tensor, write: Writer
) -> Tensor:
    weight_decay = float(group.get("weight_decay", 0.0))
    if weight_decay == 0:
        return grad
    decayed = grad.add(value, alpha=weight_decay)
    write("g ← g + λ·θ", "g ← {} + {}·{}", grad, weight_decay, value, value=decayed)
    return decayed


def _sgd(
    group: Mapping[str, Any], value: Tensor, grad: Tensor, state: State, write: Writer
) -> Tensor:
    lr, momentum = float(group["lr"]), float(group.get("momentum", 0.0))
    dampening = float(group.get("dampening", 0.0))
    grad = _coupled_weight_decay(group, value, _gradient(group, grad, write), write)
    if momentum != 0:
        previous = state.get("momentum_buffer")
        if isinstance(previous, Tensor):
            buf = previous.mul(momentum).add_(grad, alpha=1 - dampening)
            write(
                "b ← μ·b + (1 − τ)·g",
                "b ← {}·{} + {}·{}",
                momentum,
                previous,
                1 - dampening,
                grad,
                value=buf,
            )
        else:  # the first step with momentum starts the buffer at the gradient itself
            buf = grad.clone()
            write("b ← g", "b ← {}", grad, value=buf)
        if group.get("nesterov", False):
            nesterov = grad.add(buf, alpha=momentum)
            write("g ← g + μ·b", "g ← {} + {}·{}", grad, momentum, buf, value=nesterov)
            grad = nesterov
        else:
            grad = buf
    after = value.add(grad, alpha=-lr)
    direction = "b" if momentum != 0 and not group.get("nesterov", False) else "g"
    write(f"θ ← θ − γ·{direction}", "θ ← {} − {}·{}", value, lr, grad, value=after)
    return after


def _adam(
    group: Mapping[str, Any],
    value: Tensor,
    grad: Tensor,
    state: State,
    write: Writer,
    *,
    decoupled: bool,
) -> Tensor:
    lr, eps = float(group["lr"]), float(group["eps"])
    beta1, beta2 = (float(beta) for beta in group["betas"])
    weight_decay = float(group.get("weight_decay", 0.0))
    grad = _gradient(group, grad, write)
    t = _steps_taken(state) + 1
    write("t ← t + 1", "t ← {} + 1", t - 1, value=t)
    if decoupled and weight_decay != 0:
        decayed = value.mul(1 - lr * weight_decay)
        write("θ ← θ·(1 − γ·λ)", "θ ← {}·{}", value, 1 - lr * weight_decay, value=decayed)
        value = decayed
    elif weight_decay != 0:
        grad = _coupled_weight_decay(group, value, grad, write)

    exp_avg = _tensor(state, "exp_avg", value)
    exp_avg_sq = _tensor(state, "exp_avg_sq", value)
    m = exp_avg.lerp(grad, 1 - beta1)
    write("m ← β₁·m + (1 − β₁)·g", "m ← {}·{} + {}·{}", beta1, exp_avg, 1 - beta1, grad, value=m)
    v = exp_avg_sq.mul(beta2).addcmul_(grad, grad, value=1 - beta2)
    write(
        "v ← β₂·v + (1 − β₂)·g²", "v ← {}·{} + {}·{}²", beta2, exp_avg_sq, 1 - beta2, grad, value=v
    )

    # Python floats, as torch computes them (in double) when capturable is off.
    bias_correction1 = 1 - beta1**t
    write(
        "bias_correction1 = 1 − β₁^t",
        "bias_correction1 = 1 − {}^{}",
        beta1,
        t,
        value=bias_correction1,
    )
    bias_correction2 = 1 - beta2**t
    write(
        "bias_correction2 = 1 − β₂^t",
        "bias_correction2 = 1 − {}^{}",
        beta2,
        t,
        value=bias_correction2,
    )
    step_size = lr / bias_correction1
    write(
        "step_size = γ / bias_correction1",
        "step_size = {} / {}",
        lr,
        bias_correction1,
        value=step_size,
    )
    bias_correction2_sqrt = bias_correction2**0.5

    if group.get("amsgrad", False):
        previous = _tensor(state, "max_exp_avg_sq", value)
        v_max = torch.maximum(previous, v)
        write("v̂ ← max(v̂, v)", "v̂ ← max({}, {})", previous, v, value=v_max)
        denom = (v_max.sqrt() / bias_correction2_sqrt).add_(eps)
        write(
            "denom = √v̂ / √bias_correction2 + ε",
            "denom = √{} / √{} + {}",
            v_max,
            bias_correction2,
            eps,
            value=denom,
        )
    else:
        denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
        write(
            "denom = √v / √bias_correction2 + ε",
            "denom = √{} / √{} + {}",
            v,
            bias_correction2,
            eps,
            value=denom,
        )

    after = value.addcdiv(m, denom, value=-step_size)
    write(
        "θ ← θ − step_size·m / denom",
        "θ ← {} − {}·{} / {}",
        value,
        step_size,
        m,
        denom,
        value=after,
    )
    return after


def _rmsprop(
    group: Mapping[str, Any], value: Tensor, grad: Tensor, state: State, write: Writer
) -> Tensor:
    lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
    momentum = float(group.get("momentum", 0.0))
    grad = _coupled_weight_decay(group, value, _gradient(group, grad, write), write)

    square_avg = _tensor(state, "square_avg", value)
    v = square_avg.mul(alpha).addcmul_(grad, grad, value=1 - alpha)
    write("v ← α·v + (1 − α)·g²", "v ← {}·{} + {}·{}²", alpha, square_avg, 1 - alpha, grad, value=v)
    if group.get("centered", False):
        grad_avg = _tensor(state, "grad_avg", value)
        g_avg = grad_avg.lerp(grad, 1 - alpha)
        write(
            "ḡ ← α·ḡ + (1 − α)·g",
            "ḡ ← {}·{} + {}·{}",
            alpha,
            grad_avg,
            1 - alpha,
            grad,
            value=g_avg,
        )
        denom = v.addcmul(g_avg, g_avg, value=-1).sqrt_().add_(eps)
        write("denom = √(v − ḡ²) + ε", "denom = √({} − {}²) + {}", v, g_avg, eps, value=denom)
    else:
        denom = v.sqrt().add_(eps)
        write("denom = √v + ε", "denom = √{} + {}", v, eps, value=denom)

    if momentum > 0:  # RMSprop tests > 0 where SGD tests != 0
        previous = _tensor(state, "momentum_buffer", value)
        buf = previous.mul(momentum).addcdiv_(grad, denom)
        write(
            "b ← μ·b + g / denom", "b ← {}·{} + {} / {}", momentum, previous, grad, denom, value=buf
        )
        after = value.add(buf, alpha=-lr)
        write("θ ← θ − γ·b", "θ ← {} − {}·{}", value, lr, buf, value=after)
    else:
        after = value.addcdiv(grad, denom, value=-lr)
        write("θ ← θ − γ·g / denom", "θ ← {} − {}·{} / {}", value, lr, grad, denom, value=after)
    return after


def _adagrad(
    group: Mapping[str, Any], value: Tensor, grad: Tensor, state: State, write: Writer
) -> Tensor:
    lr, lr_decay, eps = float(group["lr"]), float(group.get("lr_decay", 0.0)), float(group["eps"])
    t = _steps_taken(state) + 1
    write("t ← t + 1", "t ← {} + 1", t - 1, value=t)
    grad = _coupled_weight_decay(group, value, _gradient(group, grad, write), write)
    clr = lr / (1 + (t - 1) * lr_decay)
    write("γ̃ = γ / (1 + (t − 1)·η)", "γ̃ = {} / (1 + {}·{})", lr, t - 1, lr_decay, value=clr)

    initial = float(group.get("initial_accumulator_value", 0.0))
    state_sum = _tensor(state, "sum", value, fill=initial)
    s = state_sum.addcmul(grad, grad, value=1)
    write("s ← s + g²", "s ← {} + {}²", state_sum, grad, value=s)
    std = s.sqrt().add_(eps)
    write("denom = √s + ε", "denom = √{} + {}", s, eps, value=std)
    after = value.addcdiv(grad, std, value=-clr)
    write("θ ← θ − γ̃·g / denom", "θ ← {} − {}·{} / {}", value, clr, grad, std, value=after)
    return after


def _adam_rule(
    group: Mapping[str, Any], value: Tensor, grad: Tensor, state: State, write: Writer
) -> Tensor:
    # torch.optim.Adam(decoupled_weight_decay=True) is AdamW under another name.
    decoupled = bool(group.get("decoupled_weight_decay", False))
    return _adam(group, value, grad, state, write, decoupled=decoupled)


def _adamw_rule(
    group: Mapping[str, Any], value: Tensor, grad: Tensor, state: State, write: Writer
) -> Tensor:
    return _adam(group, value, grad, state, write, decoupled=True)


Rule = Callable[[Mapping[str, Any], Tensor, Tensor, State, Writer], Tensor]
"""(param_group, parameter, gradient, state) before step() -> the parameter after it."""

sgd: Rule = _sgd
adam: Rule = _adam_rule
adamw: Rule = _adamw_rule
rmsprop: Rule = _rmsprop
adagrad: Rule = _adagrad
