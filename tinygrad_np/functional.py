"""The functional API (`import tinygrad_np.functional as F`): ops on plain tensors, no modules needed."""
from .ops.activation import *  # noqa: F401,F403
from .ops.conv import *  # noqa: F401,F403
from .ops.embedding import *  # noqa: F401,F403
from .ops.linear import *  # noqa: F401,F403
from .ops.loss import *  # noqa: F401,F403
from .ops.normalization import *  # noqa: F401,F403
from .ops.padding import *  # noqa: F401,F403
from .ops.pool import *  # noqa: F401,F403
from .ops.unpool import *  # noqa: F401,F403
from .ops.resize import *  # noqa: F401,F403
