/**
 * The AWS SDK warns on every start that its releases from January 2027 will need Node
 * 22; hepflow pins a release that supports Node 20 (package-lock.json), so for our users
 * that warning is noise. The SDK's own switch turns it off (it checks the variable when
 * a client is created, so setting it at import is early enough; child processes inherit
 * it). Every other warning keeps node's default printing.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
