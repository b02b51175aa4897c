"""The attention/MLM checkers accept correct answers and reject each named mistake, naming the case."""
import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks import attention as chk


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---- correct versions, written here (not in course_lib)

def split_heads(q, k, v, num_heads, scale_heads=True, order="hd"):
    B, Tq, D = q.shape
    Tk, Dv = k.shape[1], v.shape[2]
    d, dv = D // num_heads, Dv // num_heads

    def heads(a, size):          # (B, T, h*size) -> (B, h, T, size)
        if order == "hd":
            return a.reshape(a.shape[0], a.shape[1], num_heads, size).transpose(0, 2, 1, 3)
        return a.reshape(a.shape[0], a.shape[1], size, num_heads).transpose(0, 3, 1, 2)
    qh, kh, vh = heads(q, d), heads(k, d), heads(v, dv)
    w = _softmax(qh @ np.swapaxes(kh, -1, -2) / np.sqrt(d if scale_heads else D))
    out = (w @ vh).transpose(0, 2, 1, 3).reshape(B, Tq, Dv)
    return out, w


def lesson_attention(q, k, v, key_mask=None):
    """Lesson 06's attention, for one sequence: q (Tq, d), k (Tk, d), v (Tk, dv)."""
    scores = q @ k.T / np.sqrt(q.shape[-1])
    if key_mask is not None:
        scores = np.where(key_mask[None, :], scores, -1e9)
    w = _softmax(scores, axis=-1)
    return w @ v, w


def batched_sdpa(q, k, v):
    """The old exercise 1 (batched single-head attention): it passed the old checker."""
    w = _softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]))
    return w @ v, w


def causal(q, k, v, align="end", fill=-np.inf, mask_after=False, reverse=False, axis=-1):
    tq, tk = q.shape[1], k.shape[1]
    offset = tk - tq if align == "end" else 0
    allowed = np.arange(tk)[None, :] <= np.arange(tq)[:, None] + offset      # (Tq, Tk)
    if reverse:
        allowed = ~allowed
        allowed[:, 0] = True           # keep every row attending something
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask_after:
        w = _softmax(s) * allowed
    else:
        with np.errstate(invalid="ignore"):
            w = _softmax(np.where(allowed, s, fill), axis=axis)
    return w @ v, w


# ---- accept

def test_accepts_correct_split_heads_attention():
    assert "all 4 cases" in chk.check_split_heads_attention(split_heads)


@pytest.mark.parametrize("fill", [-np.inf, -1e9])
def test_accepts_correct_causal_attention(fill):
    assert "all 4 cases" in chk.check_causal_attention(lambda q, k, v: causal(q, k, v, fill=fill))


# ---- reject: what the lesson (or the old exercises) already had

def test_split_heads_refuses_the_lessons_unbatched_attention_and_the_old_batched_single_head():
    with pytest.raises(CheckFailure):
        chk.check_split_heads_attention(lambda q, k, v, h: lesson_attention(q, k, v))
    with pytest.raises(CheckFailure, match=r"one head.*attention weights has shape \(2, 3, 5\), expected \(2, 1, 3, 5\)"):
        chk.check_split_heads_attention(lambda q, k, v, h: batched_sdpa(q, k, v))
    with pytest.raises(CheckFailure, match=r"two heads.*attention weights"):      # even with the head axis added
        chk.check_split_heads_attention(lambda q, k, v, h: (batched_sdpa(q, k, v)[0], batched_sdpa(q, k, v)[1][:, None]))


def test_causal_refuses_the_old_general_mask_exercise_without_a_mask():
    with pytest.raises(CheckFailure, match=r"your weights give up to .* keys this query may not attend"):
        chk.check_causal_attention(batched_sdpa)


# ---- reject, with a diagnosis

def test_split_heads_names_scaling_by_the_whole_width():
    with pytest.raises(CheckFailure, match=r"two heads.*attention weights differs.*sqrt\(d\) of ONE head"):
        chk.check_split_heads_attention(lambda q, k, v, h: split_heads(q, k, v, h, scale_heads=False))


def test_split_heads_names_the_wrong_column_order():
    with pytest.raises(CheckFailure, match=r"two heads.*reshape to \(B, T, num_heads, d\)"):
        chk.check_split_heads_attention(lambda q, k, v, h: split_heads(q, k, v, h, order="dh"))


def test_causal_names_a_mask_aligned_to_the_first_key():
    with pytest.raises(CheckFailure, match=r"decoding one token.*as if the queries were the FIRST"):
        chk.check_causal_attention(lambda q, k, v: causal(q, k, v, align="start"))


def test_reversed_mask_gets_a_mask_hint_not_a_scaling_hint():
    """The old masked-attention checker told a reversed mask to 'check the scaling'."""
    with pytest.raises(CheckFailure, match=r"may not attend .*the right way round") as e:
        chk.check_causal_attention(lambda q, k, v: causal(q, k, v, reverse=True))
    assert "scaling" not in str(e.value)


def test_softmax_over_the_wrong_axis_gets_a_readable_hint():
    """The old checker said 'sum to between nan and nan'."""
    with pytest.raises(CheckFailure) as e:
        chk.check_causal_attention(lambda q, k, v: causal(q, k, v, axis=-2))
    assert "between nan and nan" not in str(e.value) and "Hint:" in str(e.value)
    assert "NaN" in str(e.value) or "sum to 1 over the keys" in str(e.value)


def test_mask_after_softmax_is_named():
    with pytest.raises(CheckFailure, match=r"sum to 1 over the keys.*before the softmax"):
        chk.check_causal_attention(lambda q, k, v: causal(q, k, v, mask_after=True))


def test_rejects_wrong_return_shape_and_none():
    with pytest.raises(CheckFailure, match=r"must return a pair \(output, weights\)"):
        chk.check_causal_attention(lambda q, k, v: causal(q, k, v)[0])
    with pytest.raises(CheckFailure, match=r"returned None for the attention weights"):
        chk.check_causal_attention(lambda q, k, v: (None, None))
    with pytest.raises(CheckFailure, match=r"attention weights has shape \(2, 5, 5, 1\)"):
        chk.check_causal_attention(lambda q, k, v: (causal(q, k, v)[0], causal(q, k, v)[1][..., None]))


def test_not_implemented_is_reported():
    def todo(q, k, v, h):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        chk.check_split_heads_attention(todo)


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


def test_mlm_rejects_a_generator_seeded_inside():
    """Seeded inside, the function gives the same masks whatever rng says: the old checker accepted it."""
    def seeded_inside(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
        return bert_rule(token_ids, np.random.default_rng(1234), mask_token_id, vocab_size, special_ids,
                         selection_rate)
    with pytest.raises(CheckFailure, match=r"seeded differently gave the same result"):
        chk.check_mlm_masking(seeded_inside)


def test_mlm_rejects_12_percent_where_15_belong():
    """0.12 vs 0.15 was within the old tolerance of 0.04 (13 standard errors); it is ~10 standard errors."""
    def twelve(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
        return bert_rule(token_ids, rng, mask_token_id, vocab_size, special_ids, 0.12)
    with pytest.raises(CheckFailure, match=r"fraction of ordinary tokens selected: yours 0\.1[12].*standard errors apart"):
        chk.check_mlm_masking(twelve)


def test_mlm_rejects_70_20_10_where_80_10_10_belong():
    def seventy(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
        selected = ~np.isin(token_ids, special_ids) & (rng.random(token_ids.shape) < selection_rate)
        u = rng.random(token_ids.shape)
        out = token_ids.copy()
        out[selected & (u < 0.7)] = mask_token_id
        rnd = selected & (u >= 0.7) & (u < 0.9)
        out[rnd] = rng.integers(0, vocab_size, size=int(rnd.sum()))
        return out, selected
    with pytest.raises(CheckFailure, match=r"replaced by \[MASK\]: yours 0\.7.*standard errors apart"):
        chk.check_mlm_masking(seventy)


def test_mlm_a_correct_rule_passes_with_any_seed():
    for seed in (1, 2, 3):
        chk.check_mlm_masking(bert_rule, seed=seed)


def test_mlm_rejects_randomness_outside_rng():
    def global_numpy(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate=0.15):
        return bert_rule(token_ids, np.random.default_rng(np.random.randint(1 << 30)), mask_token_id,
                         vocab_size, special_ids, selection_rate)
    with pytest.raises(CheckFailure, match=r"seeded alike gave different results"):
        chk.check_mlm_masking(global_numpy)


def test_messages_name_their_keras_reference_not_tensorflow():
    with pytest.raises(CheckFailure, match=r"attention weights differs from keras.layers.MultiHeadAttention") as e:
        chk.check_split_heads_attention(lambda q, k, v, h: split_heads(q, k, v, h, scale_heads=False))
    assert "TensorFlow" not in str(e.value)
