import numpy as np
import pytest
import scipy.io

from mmseqnet.datasets.mat_io import (MatFormatError, cell_items,
                                      load_mat_variable, mat_box,
                                      mat_int_vector, mat_string,
                                      single_struct, struct_items)


def test_load_mat_variable(tmp_path):
    path = str(tmp_path / 'a.mat')
    scipy.io.savemat(path, {'second': np.ones((1, 2))})
    name, value = load_mat_variable(path, ['first', 'second'], 'ids')
    assert name == 'second' and value.shape == (1, 2)
    with pytest.raises(MatFormatError,
                       match=r"a\.mat: expected a variable named 'x' "
                       r"\(ids\), found \['second'\]"):
        load_mat_variable(path, ['x'], 'ids')
    with pytest.raises(FileNotFoundError, match=r'b\.mat: file not found'):
        load_mat_variable(str(tmp_path / 'b.mat'), ['x'], 'ids')
    (tmp_path / 'c.mat').write_text('not a MAT file')
    with pytest.raises(MatFormatError, match=r'c\.mat: cannot be read'):
        load_mat_variable(str(tmp_path / 'c.mat'), ['x'], 'ids')


def test_mat_box():
    box = mat_box(np.array([[250, 3, 10, 4]], np.uint8), 'here')
    assert box.dtype == np.int32 and box[0] + box[2] == 260
    assert mat_box(np.zeros((1, 0)), 'here', allow_empty=True) is None
    with pytest.raises(MatFormatError, match='here: expected a 1x4 box'):
        mat_box(np.zeros((1, 0)), 'here')
    with pytest.raises(MatFormatError, match='here: expected a 1x4 box'):
        mat_box(np.zeros((1, 5)), 'here')
    with pytest.raises(MatFormatError, match='integer box'):
        mat_box(np.array([[1.5, 2, 3, 4]]), 'here')


def test_strings_cells_structs_vectors(tmp_path):
    assert mat_string(np.array(['s1.jpg']), 'here') == 's1.jpg'
    with pytest.raises(MatFormatError, match='here: expected a string'):
        mat_string(np.zeros((1, 1)), 'here')
    with pytest.raises(MatFormatError, match='expected a cell array'):
        cell_items(np.zeros((2, 1)), 'here')
    struct = np.empty((1, 2), dtype=[('a', 'O'), ('b', 'O')])
    struct[0, 0] = (1, 2)
    struct[0, 1] = (3, 4)
    assert struct_items(struct, ['a'], 'here') == [{'a': 1}, {'a': 3}]
    assert struct_items(np.zeros((1, 0)), ['a'], 'here') == []
    with pytest.raises(MatFormatError, match=r"lacks fields \['c'\]"):
        struct_items(struct, ['c'], 'here')
    with pytest.raises(MatFormatError, match='expected a 1x1 struct'):
        single_struct(struct, ['a'], 'here')
    np.testing.assert_array_equal(
        mat_int_vector(np.array([[3.0], [1.0]]), 'here'), [3, 1])
    with pytest.raises(MatFormatError, match='numeric vector'):
        mat_int_vector(np.ones((2, 2)), 'here')
