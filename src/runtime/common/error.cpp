#include "runtime/common/error.hpp"

#include <cstring>

namespace brig {

std::string Error::errno_text(int err) {
    char buf[128];
    return strerror_r(err, buf, sizeof buf);
}

void throw_errno(const std::string& context) {
    throw Error(context, errno);
}

}  // namespace brig
