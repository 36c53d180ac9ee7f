#pragma once

#include <libpq-fe.h>

// The libpq functions tokenctl calls, each named once: the table below and its loader are
// both written from this list.
#define TOKENCTL_LIBPQ_FUNCTIONS(X)                                                                \
    X(PQclear)                                                                                     \
    X(PQcmdTuples)                                                                                 \
    X(PQconnectdbParams)                                                                           \
    X(PQconsumeInput)                                                                              \
    X(PQenterPipelineMode)                                                                         \
    X(PQconninfoFree)                                                                              \
    X(PQconninfoParse)                                                                             \
    X(PQerrorMessage)                                                                              \
    X(PQexec)                                                                                      \
    X(PQexecParams)                                                                                \
    X(PQexitPipelineMode)                                                                          \
    X(PQfinish)                                                                                    \
    X(PQfreemem)                                                                                   \
    X(PQgetisnull)                                                                                 \
    X(PQgetlength)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQgetResult)                                                                                 \
    X(PQisBusy)                                                                                    \
    X(PQntuples)                                                                                   \
    X(PQpipelineSync)                                                                              \
    X(PQputCopyData)                                                                               \
    X(PQputCopyEnd)                                                                                \
    X(PQresultErrorField)                                                                          \
    X(PQresultStatus)                                                                              \
    X(PQsendQuery)                                                                                 \
    X(PQsendQueryParams)                                                                           \
    X(PQserverVersion)                                                                             \
    X(PQsetNoticeProcessor)                                                                        \
    X(PQsetSingleRowMode)                                                                          \
    X(PQsocket)                                                                                    \
    X(PQstatus)                                                                                    \
    X(PQuser)

namespace tokenctl {

// PostgreSQL's client library, loaded only when a PostgreSQL registry is named: it pulls
// in libssl, GSSAPI and LDAP, which SQLite commands would otherwise load at every start.
// Members are the functions of the same names.
struct Libpq {
#define TOKENCTL_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
    TOKENCTL_LIBPQ_FUNCTIONS(TOKENCTL_LIBPQ_MEMBER)
#undef TOKENCTL_LIBPQ_MEMBER
};

// The loaded library. Throws Error(failure) when libpq.so.5 cannot be loaded (the libpq5
// package is only recommended) or lacks one of the functions.
const Libpq& libpq();

} // namespace tokenctl
