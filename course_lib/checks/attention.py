"""Checkers for lesson 06 (attention and BERT): the framework is the answer key.

    check_split_heads_attention(fn)   fn(q (B, Tq, h*d), k (B, Tk, h*d), v (B, Tk, h*dv), num_heads)
                                       -> (output (B, Tq, h*dv), weights (B, h, Tq, Tk))
    check_causal_attention(fn)        fn(q (B, Tq, d), k (B, Tk, d), v (B, Tk, dv)), Tq <= Tk: the queries are
                                       the LAST Tq positions of the sequence -> (output, weights (B, Tq, Tk))
    check_mlm_masking(fn)             fn(token_ids int (B, T), rng, mask_token_id, vocab_size, special_ids,
                                         selection_rate) -> (masked_ids int (B, T), selected bool (B, T))

Attention answers come from ``keras.layers.MultiHeadAttention`` with identity projections, which
reduces it to scaled dot-product attention on the heads: head j of q, k and v is their columns
j*d ... (j+1)*d - 1 (Keras' reshape order), each head is scaled by 1/sqrt(d) of ONE head, and the
output concatenates the heads. The causal answer is the last Tq rows of Keras' causal self-attention
over the whole sequence (``use_causal_mask=True``): what decoding with a cache of keys and values must
reproduce. The masking rule is compared statistically with keras_hub's ``MaskedLMMaskGenerator`` run
on the same tokens (BERT's 80/10/10 rule, Devlin et al. 2019), with a tolerance from the binomial
standard error of each fraction.
"""
from __future__ import annotations

import math

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

MHA = "keras.layers.MultiHeadAttention"

# (name, B, Tq, Tk, heads, d, dv, scale of q and k): batch > 1, Tq != Tk, Tq = 1, one head and several,
# d large enough that the wrong scaling changes the answer.
HEADS_CASES = (
    ("one head", 2, 3, 5, 1, 8, 4, 1.0),
    ("two heads", 2, 4, 4, 2, 8, 3, 1.0),
    ("four heads, one query", 3, 1, 6, 4, 4, 5, 1.0),
    ("three heads, large d", 1, 5, 7, 3, 32, 6, 0.5),
)
# (name, B, Tq, Tk, d, dv)
CAUSAL_CASES = (
    ("whole sequence (Tq = Tk)", 2, 5, 5, 8, 4),
    ("decoding one token with 5 cached", 3, 1, 6, 12, 5),
    ("the last three of seven positions", 2, 3, 7, 16, 4),
    ("batch of one, the last four of nine", 1, 4, 9, 8, 8),
)


def _keras_attention(q, k, v, heads=1, causal=False):
    """(output, weights (B, heads, Tq, Tk)) of keras.layers.MultiHeadAttention with identity projections."""
    import keras

    D, Dv = q.shape[-1], v.shape[-1]
    d, dv = D // heads, Dv // heads
    mha = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=d, value_dim=dv, output_shape=Dv,
                                          dtype="float64")
    mha.build(query_shape=q.shape, value_shape=v.shape, key_shape=k.shape)
    mha.query_dense.set_weights([np.eye(D).reshape(D, heads, d), np.zeros((heads, d))])
    mha.key_dense.set_weights([np.eye(D).reshape(D, heads, d), np.zeros((heads, d))])
    mha.value_dense.set_weights([np.eye(Dv).reshape(Dv, heads, dv), np.zeros((heads, dv))])
    mha.output_dense.set_weights([np.eye(Dv).reshape(heads, dv, Dv), np.zeros(Dv)])
    out, scores = mha(q, v, key=k, return_attention_scores=True, use_causal_mask=causal)
    return np.asarray(out), np.asarray(scores)


def _random_qkv(rng, b, tq, tk, dq, dv, scale):
    return rng.normal(0, scale, (b, tq, dq)), rng.normal(0, scale, (b, tk, dq)), rng.normal(0, 1, (b, tk, dv))


def _split_result(res, case):
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailure(f"[{case}] your function must return a pair (output, weights), got "
                           f"{type(res).__name__}{'' if not isinstance(res, (tuple, list)) else f' of length {len(res)}'}")
    return res


def _matches(got, ref):
    try:
        g = np.asarray(got, dtype="float64")
        return g.shape == ref.shape and np.allclose(g, ref, atol=1e-6)
    except Exception:
        return False


def _weights_hint(weights, expected, scaling):
    """A diagnosis of wrong attention weights, from their pattern against the expected ones."""
    w = np.asarray(weights, dtype="float64")
    if not np.all(np.isfinite(w)):
        return (" Hint: your weights contain NaN or inf: is a row of scores entirely -inf (the softmax over the "
                "wrong axis makes masked columns all -inf), or did exp() overflow (subtract the row maximum)?")
    sums = w.sum(-1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        return (f" Hint: each row of the weights should sum to 1 over the keys (the last axis); yours sum to "
                f"between {sums.min():.3g} and {sums.max():.3g}. Is the softmax over the last axis, and is the "
                "mask applied to the scores before the softmax?")
    forbidden = expected == 0
    if forbidden.any() and (w[forbidden] > 1e-9).any():
        return (f" Hint: your weights give up to {w[forbidden].max():.3g} to keys this query may not attend (they "
                "must get exactly 0): is the mask applied, the right way round (True = may attend)?")
    if ((expected > 1e-6) & (w < 1e-12)).any():
        return (" Hint: your weights are 0 on keys this query may attend: is the mask reversed, or aligned to the "
                "wrong end of the sequence?")
    return f" Hint: the rows sum to 1 and the masked keys get 0, so check the scaling: {scaling}"


def _compare(got, expected, case, variants=(), scaling="the scores are q k^T divided by sqrt(d)."):
    """Compare (output, weights) with Keras' pair; ``variants``: [(weights of a known mistake, hint)]."""
    out, weights = _split_result(got, case)
    exp_out, exp_w = expected
    try:
        err_w = assert_close(weights, exp_w, case, what="attention weights", atol=1e-6, rtol=1e-5, reference=MHA)
    except CheckFailure as e:
        if np.shape(weights) != exp_w.shape:
            raise
        for variant, hint in variants:
            if _matches(weights, variant):
                raise CheckFailure(f"{e}. Hint: {hint}") from None
        raise CheckFailure(str(e) + _weights_hint(weights, exp_w, scaling)) from None
    err_o = assert_close(out, exp_out, case, what="output", atol=1e-6, rtol=1e-5, reference=MHA)
    return max(err_w, err_o)


@in_float32
def check_split_heads_attention(fn, seed: int = 0) -> str:
    """fn(q, k, v, num_heads) -> (output, weights): multi-head attention on already projected q, k, v.

    q (B, Tq, h*d), k (B, Tk, h*d), v (B, Tk, h*dv). Head j uses columns j*d ... (j+1)*d - 1 of q and
    k (j*dv ... of v), attends with its own softmax(q_j k_j^T / sqrt(d)), and the outputs of the heads
    are concatenated in order: output (B, Tq, h*dv), weights (B, h, Tq, Tk). Compared with Keras
    MultiHeadAttention with identity projections. (The lesson's attention takes one sequence, and its
    multi_head_attention projects its inputs first.)
    """
    rng = np.random.default_rng(seed)
    worst = 0.0
    for name, b, tq, tk, h, d, dv, scale in HEADS_CASES:
        q, k, v = _random_qkv(rng, b, tq, tk, h * d, h * dv, scale)
        case = f"{name}: " + describe_case(q=q, k=k, v=v, num_heads=h)
        got = call_learner(fn, case, q.copy(), k.copy(), v.copy(), h)
        expected = _keras_attention(q, k, v, heads=h)
        variants = []
        if h > 1:
            variants.append((_keras_attention(q / math.sqrt(h), k, v, heads=h)[1],
                             "divide by sqrt(d) of ONE head (the last axis of q divided by num_heads), not of the "
                             "whole vector."))
            order = np.arange(h * d).reshape(d, h).T.ravel()          # head j = columns j, j + h, j + 2h, ...
            order_v = np.arange(h * dv).reshape(dv, h).T.ravel()
            variants.append((_keras_attention(q[..., order], k[..., order], v[..., order_v], heads=h)[1],
                             "head j takes the columns j*d ... (j+1)*d - 1: reshape to (B, T, num_heads, d), "
                             "not (B, T, d, num_heads)."))
        worst = max(worst, _compare(got, expected, case, variants,
                                    "each head's scores are q_j k_j^T divided by sqrt(d), d the size of one head."))
    return passed("split_heads_attention", len(HEADS_CASES), worst, MHA)


@in_float32
def check_causal_attention(fn, seed: int = 0) -> str:
    """fn(q, k, v) -> (output, weights) for causal attention where q holds the LAST Tq positions.

    k (B, Tk, d) and v (B, Tk, dv) hold all Tk positions, q (B, Tq, d) the last Tq <= Tk of them, so
    query i (position Tk - Tq + i) may attend keys 0 ... Tk - Tq + i. The answer is the last Tq rows of
    Keras MultiHeadAttention(use_causal_mask=True) over the whole sequence: what decoding with a cache
    of keys and values must reproduce. Masked keys get weight exactly 0.
    """
    rng = np.random.default_rng(seed)
    worst = 0.0
    for name, b, tq, tk, d, dv in CAUSAL_CASES:
        q_all, k, v = _random_qkv(rng, b, tk, tk, d, dv, 1.0)
        q = q_all[:, tk - tq:]
        case = f"{name}: " + describe_case(q=q, k=k, v=v)
        got = call_learner(fn, case, q.copy(), k.copy(), v.copy())
        out, weights = _keras_attention(q_all, k, v, causal=True)
        expected = (out[:, tk - tq:], weights[:, 0, tk - tq:])
        variants = []
        if tq < tk:
            top_left = _keras_attention(q, k, v, causal=True)[1][:, 0]
            variants.append((top_left, "your mask lets query i see keys 0 ... i, as if the queries were the FIRST Tq "
                                       "positions; they are the LAST Tq, so query i sees keys 0 ... Tk - Tq + i."))
        worst = max(worst, _compare(got, expected, case, variants))
    return passed("causal_attention", len(CAUSAL_CASES), worst, f"{MHA}(use_causal_mask=True)")


# --------------------------------------------------------------------------- MLM masking rule

def _mlm_stats(original, masked, selected, selectable, mask_token_id):
    sel = selected & selectable
    n_sel = int(sel.sum())
    changed = masked != original
    return {"selected": n_sel / max(int(selectable.sum()), 1),
            "mask": float((sel & (masked == mask_token_id)).sum() / max(n_sel, 1)),
            "random": float((sel & changed & (masked != mask_token_id)).sum() / max(n_sel, 1)),
            "unchanged": float((sel & ~changed).sum() / max(n_sel, 1))}


def _keras_hub_mlm_stats(token_ids, mask_token_id, vocab_size, special_ids, rate, seed):
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    gen = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=vocab_size, mask_selection_rate=rate, mask_token_id=mask_token_id,
        mask_selection_length=token_ids.shape[1], unselectable_token_ids=list(special_ids))
    out = gen(token_ids)
    masked = np.asarray(out["token_ids"])
    selected = np.zeros(token_ids.shape, bool)
    pos, w = np.asarray(out["mask_positions"]), np.asarray(out["mask_weights"]) > 0
    rows = np.repeat(np.arange(token_ids.shape[0]), pos.shape[1])
    selected[rows[w.ravel()], pos.ravel()[w.ravel()]] = True
    return selected, masked


def _mlm_batch(rng, b, t, vocab_size, cls_id, sep_id, pad_id, first_word_id):
    """[CLS] w w ... w [SEP] [PAD] ... with random lengths; words drawn from [first_word_id, vocab)."""
    ids = rng.integers(first_word_id, vocab_size, size=(b, t))
    lengths = rng.integers(t // 2, t + 1, size=b)
    for i, n in enumerate(lengths):
        ids[i, 0], ids[i, n - 1] = cls_id, sep_id
        ids[i, n:] = pad_id
    return ids.astype("int32")


def _mlm_result(res, case, shape):
    """(masked int array, selected bool array) from the learner's result, or a CheckFailure."""
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise CheckFailure(f"[{case}] your function must return a pair (masked_ids, selected)")
    try:
        masked, selected = (np.asarray(r) for r in res)
    except Exception:
        raise CheckFailure(f"[{case}] masked_ids and selected must be arrays") from None
    if masked.shape != shape or selected.shape != shape:
        raise CheckFailure(f"[{case}] masked_ids has shape {masked.shape} and selected {selected.shape}; "
                           f"both must have the shape of token_ids {shape}")
    if not np.issubdtype(masked.dtype, np.integer):
        raise CheckFailure(f"[{case}] masked_ids must be integer token ids, got dtype {masked.dtype}")
    if selected.dtype != bool and not np.isin(selected, (0, 1)).all():
        raise CheckFailure(f"[{case}] selected must be boolean (or 0/1), got values other than 0 and 1")
    return masked, selected.astype(bool)


def _standard_error(p1, n1, p2, n2):
    """Standard error of p1 - p2 for two independent binomial fractions (pooled), at least 1 / n."""
    n1, n2 = max(n1, 1), max(n2, 1)
    p = (p1 * n1 + p2 * n2) / (n1 + n2)
    return max(math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2)), 1 / (n1 + n2))


@in_float32
def check_mlm_masking(fn, seed: int = 0, selection_rate: float = 0.15, z_max: float = 4.5) -> str:
    """fn(token_ids, rng, mask_token_id, vocab_size, special_ids, selection_rate) -> (masked_ids, selected).

    Exact rules: special tokens are never selected; tokens that are not selected are unchanged; all
    randomness comes from ``rng``: two calls with generators seeded alike give the same result, and
    two calls with generators seeded differently give different selections (a function that seeds its
    own generator, or ignores rng, fails).
    Statistical rules (256 x 128 tokens, compared with keras_hub's MaskedLMMaskGenerator on the same
    tokens): the fraction of ordinary tokens selected, and among the selected ones the fractions turned
    into [MASK], into a random token and left unchanged. Each difference is measured in standard errors
    of the difference of two binomial fractions; more than ``z_max`` (4.5: a correct rule fails with
    probability below 1e-5 per fraction) fails. Selecting 12 % instead of 15 % is about 9 standard errors.
    """
    vocab_size, pad_id, cls_id, sep_id, mask_id = 30522, 0, 101, 102, 103
    special = (pad_id, cls_id, sep_id)
    rng = np.random.default_rng(seed)
    ids = _mlm_batch(rng, 256, 128, vocab_size, cls_id, sep_id, pad_id, first_word_id=1000)
    case = describe_case(token_ids=ids, selection_rate=selection_rate)

    def run(generator_seed):
        res = call_learner(fn, case, ids.copy(), np.random.default_rng(generator_seed), mask_id, vocab_size,
                           special, selection_rate)
        return _mlm_result(res, case, ids.shape)

    masked, selected = run(seed + 1)
    again_masked, again_selected = run(seed + 1)
    if not (np.array_equal(again_masked, masked) and np.array_equal(again_selected, selected)):
        raise CheckFailure(f"[{case}] two calls with generators seeded alike gave different results; draw every "
                           "random number from rng (not from np.random.*, random or TensorFlow)")
    other_masked, other_selected = run(seed + 2)
    if np.array_equal(other_selected, selected) and np.array_equal(other_masked, masked):
        raise CheckFailure(f"[{case}] two calls with generators seeded differently gave the same result: your "
                           "function does not take its randomness from rng (a generator seeded inside, or none)")
    is_special = np.isin(ids, special)
    if (selected & is_special).any():
        n = int((selected & is_special).sum())
        raise CheckFailure(f"[{case}] {n} special tokens ([CLS], [SEP] or [PAD]) were selected; "
                           "they must never be masked")
    if (masked[~selected] != ids[~selected]).any():
        n = int((masked[~selected] != ids[~selected]).sum())
        raise CheckFailure(f"[{case}] {n} tokens that are not selected were changed; only selected "
                           "tokens may change")
    if masked.min() < 0 or masked.max() >= vocab_size:
        raise CheckFailure(f"[{case}] masked_ids holds ids outside [0, vocab_size={vocab_size})")
    selectable = ~is_special
    yours = _mlm_stats(ids, masked, selected, selectable, mask_id)
    ref_sel, ref_masked = _keras_hub_mlm_stats(ids, mask_id, vocab_size, special, selection_rate, seed)
    ref = _mlm_stats(ids, ref_masked, ref_sel, selectable, mask_id)
    n_tokens = int(selectable.sum())
    n_yours, n_ref = int((selected & selectable).sum()), int((ref_sel & selectable).sum())
    worst = 0.0
    for key, what, n1, n2 in (("selected", "fraction of ordinary tokens selected", n_tokens, n_tokens),
                              ("mask", "fraction of selected tokens replaced by [MASK]", n_yours, n_ref),
                              ("random", "fraction of selected tokens replaced by a random token", n_yours, n_ref),
                              ("unchanged", "fraction of selected tokens left unchanged", n_yours, n_ref)):
        z = abs(yours[key] - ref[key]) / _standard_error(yours[key], n1, ref[key], n2)
        worst = max(worst, z)
        if z > z_max:
            raise CheckFailure(f"[{case}] {what}: yours {yours[key]:.3f}, keras_hub MaskedLMMaskGenerator "
                               f"{ref[key]:.3f}: {z:.1f} standard errors apart (at most {z_max:g} allowed)")
    randoms = masked[selected & (masked != ids) & (masked != mask_id)]
    if randoms.size >= 20 and np.unique(randoms).size < 0.5 * randoms.size:
        raise CheckFailure(f"[{case}] the {randoms.size} random replacements use only "
                           f"{np.unique(randoms).size} distinct ids; draw them uniformly from the vocabulary")
    msg = (f"✓ mlm_masking: the 4 fractions (selected, [MASK], random, unchanged) of one {ids.shape[0]} x "
           f"{ids.shape[1]} batch match keras_hub MaskedLMMaskGenerator (largest difference {worst:.1f} "
           f"standard errors, at most {z_max:g} allowed)")
    print(msg)
    return msg
