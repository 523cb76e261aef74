"""The test suite; its folders mirror emorec/'s subpackages."""
