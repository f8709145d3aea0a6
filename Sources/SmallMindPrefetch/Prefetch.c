// SwiftPM needs a source file in a C target; everything is in the header (static inline).
#include "SmallMindPrefetch.h"
