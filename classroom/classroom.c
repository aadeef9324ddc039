/* classroom.c: starts the classroom machinery for a demo.
 *
 * See also: classroom.h.
 */
#include "classroom.h"

void classroom_begin(void)
{
    /* Nothing is asked for yet: the classroom options arrive with the console. */
}
