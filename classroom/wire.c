/* wire.c: the wire tap (--wire): not built yet.
 *
 * A placeholder until the tap itself lands: --wire is parsed, documented and
 * handed over, and says plainly that there is nothing to show yet.
 *
 * See also: wire.h.
 */
#include "wire.h"

#include "narrate.h"

void wire_begin(void)
{
    sl_fail_status(SL_EXIT_USAGE, "--wire: the wire tap is not built yet");
}
