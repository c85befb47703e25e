import numpy as np
import pytest

from gluoncv_hard import schema


def test_five_columns_get_a_zero_hard_column():
    out = schema.validate_label([[0, 0, 10, 10, 2]])
    assert out.shape == (1, 6) and out[0, schema.HARD] == 0 and out.dtype == np.float32


def test_padding_rows_are_removed_and_empty_is_allowed():
    label = np.vstack([[1, 2, 3, 4, 0, 1], schema.padding_label()[0]])
    assert schema.validate_label(label).shape == (1, 6)
    assert schema.validate_label(schema.empty_label()).shape == (0, 6)
    assert schema.validate_label(np.zeros(0)).shape == (0, 6)


def test_split_label():
    boxes, cls, hard = schema.split_label(schema.validate_label([[0, 0, 5, 5, 3, 1],
                                                                 [1, 1, 4, 4, 2, 0]]))
    assert boxes.shape == (2, 4) and cls.tolist() == [3, 2] and hard.tolist() == [True, False]


@pytest.mark.parametrize('label, message', [
    (np.zeros((2, 4)), r'shape \(N, 5\) or \(N, 6\).*got shape \(2, 4\)'),
    ([[0, 0, 5, 5, 0, 0], [0, 0, np.nan, 5, 0, 0]], 'box 1 has a NaN or infinite value'),
    ([[0, 0, 5, np.inf, 0, 0]], 'box 0 has a NaN or infinite value'),
    ([[0, 0, 5, 5, 0, 2]], 'box 0 has hard flag 2.0; the hard column must be 0 or 1'),
    ([[0, 0, 5, 5, 0, 0], [6, 0, 5, 5, 0, 0]], 'box 1 is inverted or has zero area'),
    ([[0, 3, 5, 3, 0, 0]], 'box 0 is inverted or has zero area'),
])
def test_bad_labels_name_the_box(label, message):
    with pytest.raises(ValueError, match=message):
        schema.validate_label(label, where='img_7')
    with pytest.raises(ValueError, match='^img_7: '):
        schema.validate_label(label, where='img_7')


def test_is_hard_is_the_one_hard_test():
    flags = np.array([schema.NORMAL_FLAG, schema.HARD_FLAG, schema.PAD_VALUE])
    assert schema.is_hard(flags).tolist() == [False, True, False]
    assert schema.is_hard(flags.reshape(3, 1)).shape == (3, 1)
    label = np.vstack([[0, 0, 5, 5, 1, schema.HARD_FLAG], schema.padding_label()[0]])
    assert schema.split_label(label)[2].tolist() == [True, False]


def test_network_box_tensor_layout():
    # The (B, M, 5) tensor HardFasterRCNN hands its sampler: the BOX columns, then the flag.
    assert schema.GT_BOX_HARD == schema.BOX.stop and schema.GT_BOX_WIDTH == schema.GT_BOX_HARD + 1


def test_bad_labels_are_input_errors():
    from gluoncv_hard.errors import InputError
    with pytest.raises(InputError):
        schema.validate_label([[0, 0, 5, 5, 0, 2]])
