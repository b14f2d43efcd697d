//! Entry point: styles, theme, and the app mounted into #app.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import './lib/stores/theme.svelte';
import { mount } from 'svelte';
import App from './App.svelte';

mount(App, { target: document.getElementById('app')! });
