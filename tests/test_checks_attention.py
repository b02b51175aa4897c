"""The attention/MLM checkers accept correct answers and reject each named mistake, naming the case."""
import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks import attention as chk


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---- correct versions, written here (not in course_lib)

def sdpa(q, k, v):
    w = _softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]))
    return w @ v, w


def masked_sdpa(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    w = _softmax(np.where(mask, s, -1e9))
    return w @ v, w


def masked_sdpa_inf(q, k, v, mask):  # another correct style: -inf, then softmax
    s = np.where(mask, q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    return w @ v, w


# ---- wrong versions

def no_sqrt(q, k, v):
    w = _softmax(q @ np.swapaxes(k, -1, -2))
    return w @ v, w


def divide_by_d(q, k, v):
    w = _softmax(q @ np.swapaxes(k, -1, -2) / q.shape[-1])
    return w @ v, w


def wrong_axis(q, k, v):
    w = _softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), axis=-2)
    return w @ v, w


def mask_after_softmax(q, k, v, mask):
    w = _softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])) * mask
    return w @ v, w


def mask_inverted(q, k, v, mask):
    return masked_sdpa(q, k, v, ~mask)


def mask_ignored(q, k, v, mask):
    return sdpa(q, k, v)


def test_accepts_correct_attention():
    assert "all 4 cases" in chk.check_scaled_dot_product_attention(sdpa)


@pytest.mark.parametrize("fn", [masked_sdpa, masked_sdpa_inf])
def test_accepts_correct_masked_attention(fn):
    assert "all 9 cases" in chk.check_masked_attention(fn)


def test_rejects_missing_sqrt_d():
    with pytest.raises(CheckFailure, match=r"\[square: q\(1, 4, 8\).*attention weights differs.*max abs error.*sqrt\(d\)"):
        chk.check_scaled_dot_product_attention(no_sqrt)


def test_rejects_divide_by_d():
    with pytest.raises(CheckFailure, match=r"attention weights differs.*max abs error"):
        chk.check_scaled_dot_product_attention(divide_by_d)


def test_rejects_softmax_over_wrong_axis():
    with pytest.raises(CheckFailure, match=r"\[square.*attention weights differs.*sum to 1 over the keys"):
        chk.check_scaled_dot_product_attention(wrong_axis)


def test_rejects_mask_after_softmax():
    with pytest.raises(CheckFailure, match=r"\[batch_rect, padding mask.*attention weights differs.*"
                                           r"max abs error.*before the softmax"):
        chk.check_masked_attention(mask_after_softmax)


@pytest.mark.parametrize("fn", [mask_inverted, mask_ignored])
def test_rejects_wrong_mask(fn):
    with pytest.raises(CheckFailure, match=r"padding mask.*max abs error"):
        chk.check_masked_attention(fn)


def test_rejects_wrong_return_shape_and_none():
    with pytest.raises(CheckFailure, match=r"must return a pair \(output, weights\)"):
        chk.check_scaled_dot_product_attention(lambda q, k, v: sdpa(q, k, v)[0])
    with pytest.raises(CheckFailure, match=r"returned None for the attention weights"):
        chk.check_scaled_dot_product_attention(lambda q, k, v: (None, None))
    with pytest.raises(CheckFailure, match=r"attention weights has shape \(1, 4, 4, 1\)"):
        chk.check_scaled_dot_product_attention(lambda q, k, v: (sdpa(q, k, v)[0], sdpa(q, k, v)[1][..., None]))


def test_not_implemented_is_reported():
    def todo(q, k, v):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        chk.check_scaled_dot_product_attention(todo)


# ---- MLM masking rule

def bert_rule(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
    selectable = ~np.isin(token_ids, special_ids)
    selected = selectable & (rng.random(token_ids.shape) < selection_rate)
    u = rng.random(token_ids.shape)
    out = token_ids.copy()
    out[selected & (u < 0.8)] = mask_token_id
    rnd = selected & (u >= 0.8) & (u < 0.9)
    out[rnd] = rng.integers(0, vocab_size, size=int(rnd.sum()))
    return out, selected


def all_mask(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
    selected = ~np.isin(token_ids, special_ids) & (rng.random(token_ids.shape) < selection_rate)
    return np.where(selected, mask_token_id, token_ids), selected


def no_random(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
    selected = ~np.isin(token_ids, special_ids) & (rng.random(token_ids.shape) < selection_rate)
    u = rng.random(token_ids.shape)
    return np.where(selected & (u < 0.8), mask_token_id, token_ids), selected


def masks_specials(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
    selected = rng.random(token_ids.shape) < selection_rate
    return np.where(selected, mask_token_id, token_ids), selected


def rate_too_high(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
    return bert_rule(token_ids, rng, mask_token_id, vocab_size, special_ids, 0.3)


def same_random_token(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
    out, sel = bert_rule(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate)
    out[sel & (out != token_ids) & (out != mask_token_id)] = 5000
    return out, sel


def test_accepts_correct_mlm_rule():
    assert "mlm_masking" in chk.check_mlm_masking(bert_rule)


@pytest.mark.parametrize("fn, pattern", [
    (all_mask, r"replaced by \[MASK\]: yours 1\.000, keras_hub MaskedLMMaskGenerator 0\.[78]"),
    (no_random, r"replaced by a random token: yours 0\.000"),
    (masks_specials, r"special tokens .* were selected"),
    (rate_too_high, r"fraction of ordinary tokens selected: yours 0\.[23]"),
    (same_random_token, r"distinct ids"),
])
def test_rejects_wrong_mlm_rules(fn, pattern):
    with pytest.raises(CheckFailure, match=pattern):
        chk.check_mlm_masking(fn)


def test_mlm_rejects_changing_unselected_tokens():
    def shuffle_all(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
        out, sel = bert_rule(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate)
        return out, np.zeros_like(sel)
    with pytest.raises(CheckFailure, match=r"tokens that are not selected were changed"):
        chk.check_mlm_masking(shuffle_all)


def test_mlm_rejects_randomness_outside_rng():
    def global_numpy(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
        return bert_rule(token_ids, np.random.default_rng(np.random.randint(1 << 30)), mask_token_id,
                         vocab_size, special_ids, selection_rate)
    with pytest.raises(CheckFailure, match=r"seeded alike gave different results"):
        chk.check_mlm_masking(global_numpy)
