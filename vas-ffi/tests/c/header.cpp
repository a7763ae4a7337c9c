// The header in a C++17 translation unit (built with -Wall -Wextra -Werror): it compiles,
// links and the codes and names agree.
#include <cstdio>
#include <cstring>
#include <string>

#include "vas.h"

int main() {
  vas_engine_options options;
  if (vas_engine_options_init(&options) != VAS_OK || options.struct_size != sizeof options) return 1;
  vas_engine *engine = nullptr;
  if (vas_engine_new(nullptr, nullptr) != VAS_INVALID_INPUT || engine != nullptr) return 1;
  std::string name = vas_result_name(VAS_TIMEOUT);
  if (name != "timeout") return 1;
  char id[VAS_ID_STRING_SIZE];
  vas_id zero{};
  if (vas_id_format(zero, id, sizeof id) != VAS_OK || std::strlen(id) != 36) return 1;
  std::printf("C++: vas %s, %s\n", vas_version(), id);
  return 0;
}
