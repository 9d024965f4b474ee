"""The damped (Levenberg-Marquardt) step of the candidate loop: damping schedule and the stall test."""

import jax
import jax.numpy as jnp
import numpy as np

import agnfit  # noqa: F401  (float64)
from agnfit.plugins.optim_steps import LM_GROW, LM_MAX, LM_SHRINK, LM_START, Point, newton_lm


def _quadratic(x):
    return jnp.sum((x - 1.0) ** 2)


def _evaluated(x):
    val, g = jax.value_and_grad(_quadratic)(x)
    return Point(x, val, g)


def test_first_candidate_is_the_start_and_the_next_is_newtons():
    stepper = newton_lm(_quadratic)
    x0 = jnp.zeros(3)
    state = stepper.init(x0)
    start = Point(x0, jnp.asarray(jnp.inf), jnp.zeros(3))
    out = stepper.step(start, state, _evaluated(x0))
    assert bool(out.moved) and float(out.point.val) == 3.0
    assert float(out.state[0]) == LM_START  # lambda starts at LM_START once the start is taken
    # damped Newton on a quadratic: nearly the minimum at once
    np.testing.assert_allclose(out.candidate, np.ones(3), rtol=1e-2)


def test_damping_growth_doubles_over_consecutive_rejections():
    stepper = newton_lm(_quadratic)
    x0 = jnp.zeros(3)
    cur = _evaluated(x0)
    state = stepper.init(x0)
    state = stepper.step(Point(x0, jnp.asarray(jnp.inf), jnp.zeros(3)), state, cur).state
    lams = [float(state[0])]
    worse = _evaluated(jnp.full(3, 5.0))  # a candidate with a higher loss is rejected
    for _ in range(3):
        out = stepper.step(cur, state, worse)
        assert not bool(out.moved) and float(out.point.val) == float(cur.val)
        state = out.state
        lams.append(float(state[0]))
    np.testing.assert_allclose(np.array(lams[1:]) / np.array(lams[:-1]), [LM_GROW, 2 * LM_GROW, 4 * LM_GROW])
    better = _evaluated(jnp.full(3, 0.5))
    out = stepper.step(cur, state, better)
    assert bool(out.moved)
    np.testing.assert_allclose(float(out.state[0]), lams[-1] / LM_SHRINK)
    np.testing.assert_allclose(float(out.state[3]), LM_GROW)  # the growth factor resets on acceptance


def test_stalled_needs_maximal_damping_a_large_gradient_and_a_large_predicted_decrease():
    stuck = newton_lm(_quadratic).stuck
    eye = jnp.eye(2)

    def state(lam, gap):
        return (jnp.asarray(lam), eye, jnp.asarray(gap), jnp.asarray(LM_GROW))

    assert bool(stuck(state(LM_MAX, 1.0), 1.0))
    assert not bool(stuck(state(1.0, 1.0), 1.0))  # damping not at its maximum
    assert not bool(stuck(state(LM_MAX, 1.0), 1e-3))  # gradient small: an optimum
    assert not bool(stuck(state(LM_MAX, 5e-3), 0.13))  # the model predicts a negligible decrease: an optimum
