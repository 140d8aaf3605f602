"""L-BFGS for a batch of independent problems, each with its own history and step length.

``torch.optim.LBFGS`` sees one long parameter vector: the curvature pairs and the line search of
every person mix, so one person's result would change with who else is in the photo. Here each
row of ``x`` (one person) gets its own two-loop recursion and its own backtracking (Armijo) line
search, while every evaluation still runs the whole batch through the model at once.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]


def _value_and_grad(f: Objective, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        values = f(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
    return values.detach(), grad


def minimize(
    f: Objective,
    x0: torch.Tensor,
    iterations: int,
    history: int = 10,
    first_step: float = 0.05,
    max_backtracks: int = 8,
    armijo: float = 1e-4,
) -> torch.Tensor:
    """Minimize ``f`` row by row. f: (B, n) -> (B,) costs, rows independent; x0: (B, n).

    ``first_step`` bounds the largest coordinate change of a gradient step (the first one, and
    after a failed line search). A row keeps its best point; it stops when its gradient vanishes
    or a gradient step finds no decrease.
    """
    x = x0.detach().clone()
    batch, size = x.shape
    value, grad = _value_and_grad(f, x)
    s_hist = x.new_zeros((batch, history, size))
    y_hist = x.new_zeros((batch, history, size))
    rho = x.new_zeros((batch, history))
    gamma = first_step / grad.abs().amax(1).clamp_min(1e-12)
    done = ~torch.isfinite(value)
    for _ in range(iterations):
        # two-loop recursion, newest pair last; empty slots have rho = 0 and do nothing
        q = grad.clone()
        alphas = []
        for k in reversed(range(history)):
            a = rho[:, k] * (s_hist[:, k] * q).sum(1)
            q = q - a[:, None] * y_hist[:, k]
            alphas.append(a)
        direction = -gamma[:, None] * q
        for k, a in zip(range(history), reversed(alphas)):
            # r += s (a - rho y.r) with r = -direction
            b = rho[:, k] * (y_hist[:, k] * direction).sum(1)
            direction = direction - s_hist[:, k] * (a + b)[:, None]
        slope = (grad * direction).sum(1)
        uphill = ~(slope < 0)
        direction = torch.where(uphill[:, None], -gamma[:, None] * grad, direction)
        slope = torch.where(uphill, -(gamma * grad.square().sum(1)), slope)
        # rows at a stationary point (or stuck) stay where they are
        done = done | (slope.abs() < 1e-12)
        if done.all():
            break

        step = torch.ones(batch, dtype=x.dtype)
        accepted = done.clone()
        new_x, new_value, new_grad = x, value, grad
        for _ in range(max_backtracks):
            trial = x + step[:, None] * direction
            trial_value, trial_grad = _value_and_grad(f, trial)
            ok = torch.isfinite(trial_value) & (trial_value <= value + armijo * step * slope) & ~accepted
            new_x = torch.where(ok[:, None], trial, new_x)
            new_value = torch.where(ok, trial_value, new_value)
            new_grad = torch.where(ok[:, None], trial_grad, new_grad)
            accepted |= ok
            if accepted.all():
                break
            step = torch.where(accepted, step, step * 0.5)
        # a failed line search drops a row's curvature history; a failed gradient step ends the row
        failed = ~accepted
        had_history = rho.abs().sum(1) > 0
        done = done | (failed & ~had_history)
        rho = torch.where((failed & had_history)[:, None], torch.zeros_like(rho), rho)
        gamma = torch.where(failed & had_history, first_step / grad.abs().amax(1).clamp_min(1e-12), gamma)
        s = new_x - x
        y = new_grad - grad
        sy = (s * y).sum(1)
        keep = accepted & ~done & (sy > 1e-10) & ~failed
        s_hist = torch.where(keep[:, None, None], torch.cat([s_hist[:, 1:], s[:, None]], 1), s_hist)
        y_hist = torch.where(keep[:, None, None], torch.cat([y_hist[:, 1:], y[:, None]], 1), y_hist)
        rho = torch.where(keep[:, None], torch.cat([rho[:, 1:], 1.0 / sy.clamp_min(1e-10)[:, None]], 1), rho)
        gamma = torch.where(keep, sy / y.square().sum(1).clamp_min(1e-20), gamma)
        x, value, grad = new_x, new_value, new_grad
    return x
