#include "config.h"
typedef int gs_placeholder_answer;
