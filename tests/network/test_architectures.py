import numpy as np
import pytest

from emorec.common.errors import InputError
from emorec.network.architectures import ARCHITECTURES, build_model


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_maps_48x48_gray_to_7_probabilities(arch):
    model = build_model(arch)
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    probs = np.asarray(model(np.zeros((2, 48, 48, 1), np.float32)))
    assert np.allclose(probs.sum(1), 1, atol=1e-5)


def test_seed_deep_network_has_four_conv_stages_of_the_seed_widths():
    import keras
    convs = [layer for layer in build_model("deep").layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size) for c in convs] == [(64, (5, 5)), (128, (3, 3)), (512, (3, 3)), (512, (3, 3))]


def test_default_vgg_has_four_stages_of_two_convs():
    import keras
    model = build_model("vgg")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert len(convs) == 8 and len(pools) == 4


def test_unknown_architecture():
    with pytest.raises(InputError, match="unknown architecture"):
        build_model("resnet9000")
