# Writes the default rules file as a C++ string constant (run with -DINPUT= -DOUTPUT=).
file(READ ${INPUT} BRIG_RULES_TEXT)
file(WRITE ${OUTPUT} "// Generated from rules/default.yaml; do not edit.\n#include <string_view>\n"
     "namespace brig::monitor {\nextern const std::string_view kDefaultRulesYaml;\n"
     "const std::string_view kDefaultRulesYaml = R\"brigrules(${BRIG_RULES_TEXT})brigrules\";\n}\n")
