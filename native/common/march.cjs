// The -march the native addons are compiled for (binding.gyp runs this): HEPFLOW_MARCH,
// else `native`, the building machine's own CPU, which is right for a checkout built
// where it runs and wrong for an image that runs on other machines (deploy/image sets a
// baseline). Refused here, naming the variable, rather than as a compiler error.
const march = process.env.HEPFLOW_MARCH || 'native';
if (!/^[a-z0-9][a-z0-9._-]*$/.test(march)) {
  console.error(`HEPFLOW_MARCH='${march}': expected a GCC -march value such as native, x86-64-v2 or x86-64-v3`);
  process.exit(1);
}
process.stdout.write(march);
