import { useTitle } from '../hooks.js';

export function NotFound() {
  useTitle('Not found');
  return (
    <>
      <h1>Page not found</h1>
      <p>This address is not a page of the dashboard. <a href="/">Go to the start page</a>.</p>
    </>
  );
}
