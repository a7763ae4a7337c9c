// The header in a C++17 translation unit (built with -Wall -Wextra -Werror): it compiles,
// links, and the codes, names and defaults agree.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "vas.h"

int main() {
  vas_engine_options options;
  if (vas_engine_options_init(&options) != VAS_OK || options.struct_size != sizeof options) return 1;
  vas_engine *engine = nullptr;
  if (vas_open(nullptr, nullptr) != VAS_INVALID_INPUT || engine != nullptr) return 1;
  std::string name = vas_result_name(VAS_TIMEOUT);
  if (name != "timeout") return 1;
  char id[VAS_ID_STRING_SIZE];
  vas_id zero{};
  if (vas_id_format(zero, id, sizeof id) != VAS_OK || std::strlen(id) != 36) return 1;
  // A name table from C++: the enum's constant, its name and its parse agree.
  std::uint32_t order = 0;
  if (vas_order_parse("newest", &order) != VAS_OK || order != VAS_ORDER_NEWEST) return 1;
  if (std::string(vas_order_name(VAS_ORDER_OLDEST)) != "oldest") return 1;
  vas_list_query query;
  if (vas_list_query_init(&query) != VAS_OK || query.order != VAS_ORDER_OLDEST) return 1;
  std::printf("C++: vas %s, %s\n", vas_version(), id);
  return 0;
}
