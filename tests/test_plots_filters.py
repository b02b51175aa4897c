"""course_lib.plots.filters: learned kernels on one symmetric diverging scale (white = 0), with a colourbar."""
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import plots  # noqa: E402


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def test_limits_are_symmetric_over_all_filters_so_white_is_zero():
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 0.3, size=(3, 3, 2, 5))          # mostly positive weights ...
    w[1, 2, 0, 3] = -0.8                                   # ... and one large negative, in channel 0
    w[0, 0, 1, 0] = 5.0                                    # channel 1 is not shown: it must not set the scale
    fig = plots.filters(w, ncols=3)
    limit = np.abs(w[:, :, 0, :]).max()
    shown = image_axes(fig)
    assert len(shown) == 5
    for ax in shown:
        im = ax.images[0]
        assert im.get_clim() == pytest.approx((-limit, limit))
        assert im.norm(0.0) == pytest.approx(0.5)            # zero sits at the middle of bwr: white
        assert im.get_cmap().name == "bwr"
    plt.close(fig)


def test_each_panel_shows_channel_zero_of_its_filter_in_order():
    w = np.random.default_rng(1).normal(size=(2, 3, 3, 4))
    fig = plots.filters(w, ncols=4)
    for f, ax in enumerate(image_axes(fig)):
        np.testing.assert_array_equal(ax.images[0].get_array(), w[:, :, 0, f])
    plt.close(fig)


def test_one_colourbar_labelled_weight_and_a_grid_of_the_right_size():
    fig = plots.filters(np.random.default_rng(2).normal(size=(3, 3, 1, 7)), ncols=3, title="t")
    colourbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colourbars) == 1 and colourbars[0].get_ylabel() == "weight"
    assert len(fig.axes) == 3 * 3 + 1                        # 7 filters on a 3 x 3 grid, 2 empty, + colourbar
    assert fig.get_size_inches()[0] <= 10
    plt.close(fig)


def test_all_zero_filters_still_draw_on_a_symmetric_scale():
    fig = plots.filters(np.zeros((3, 3, 1, 2)))
    lo, hi = image_axes(fig)[0].images[0].get_clim()
    assert lo == -hi and hi > 0
    plt.close(fig)


@pytest.mark.parametrize("kwargs, name", [(dict(ncols=0), "ncols"), (dict(ncols=2.5), "ncols"),
                                          (dict(size=0), "size"), (dict(size="1"), "size")])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError) as err:
        plots.filters(np.zeros((3, 3, 1, 2)), **kwargs)
    assert re.search(rf"\b{name}\b", str(err.value))


def test_image_grid_draws_every_image_on_the_given_scale_and_each_on_its_own_without_one():
    faint, sharp = np.full((4, 4), 0.1), np.linspace(0, 1, 16).reshape(4, 4)
    faint[0, 0] = 0.2
    fig = plots.image_grid(np.stack([faint, sharp]), vmin=0, vmax=1)
    assert [ax.images[0].get_clim() for ax in fig.axes] == [(0.0, 1.0), (0.0, 1.0)]
    fig = plots.image_grid(np.stack([faint, sharp]))          # default: stretched image by image
    assert fig.axes[0].images[0].get_clim() == pytest.approx((0.1, 0.2))
    assert fig.axes[1].images[0].get_clim() == pytest.approx((0.0, 1.0))
    plt.close("all")
