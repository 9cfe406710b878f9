/**
 * The AWS SDK warns on every start that future releases will need Node 22; hepflow
 * pins a release that supports Node 20, so that one warning is noise for our users.
 * Every other warning is still printed.
 */
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'NodeVersionSupportWarning') console.warn(`${w.name}: ${w.message}`);
});
